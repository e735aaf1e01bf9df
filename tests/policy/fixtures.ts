/**
 * A small stack that complies with every policy, and helpers to run one policy over it or over a
 * mutated copy. Each policy spec starts from this fixture and breaks one thing at a time.
 */
import {
  PackConfigObject,
  PlannedResource,
  runPack,
  Violation,
} from "../../policy/engine/evaluate";

const labels = (name: string) => ({
  "app.kubernetes.io/name": name,
  "app.kubernetes.io/instance": name,
  "app.kubernetes.io/part-of": "auditflow",
  "app.kubernetes.io/managed-by": "pulumi",
});
const selector = { "app.kubernetes.io/name": "api", "app.kubernetes.io/instance": "api" };

function container(name = "app") {
  return {
    name,
    image: "ghcr.io/auditflow/api:1.2.3",
    imagePullPolicy: "IfNotPresent",
    ports: [{ name: "http", containerPort: 8080, protocol: "TCP" }],
    env: [
      { name: "LOG_LEVEL", value: "info" },
      { name: "DB_PASSWORD", valueFrom: { secretKeyRef: { name: "db", key: "password" } } },
    ],
    resources: {
      requests: { cpu: "100m", memory: "128Mi" },
      limits: { cpu: "500m", memory: "256Mi" },
    },
    livenessProbe: { httpGet: { path: "/healthz", port: "http" } },
    readinessProbe: { httpGet: { path: "/readyz", port: "http" } },
    securityContext: {
      runAsNonRoot: true,
      allowPrivilegeEscalation: false,
      privileged: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ["ALL"] },
    },
  };
}

function podSpec() {
  return {
    serviceAccountName: "api-sa",
    automountServiceAccountToken: false,
    securityContext: {
      runAsNonRoot: true,
      runAsUser: 10001,
      seccompProfile: { type: "RuntimeDefault" },
    },
    containers: [container()],
    volumes: [{ name: "tmp", emptyDir: {} }],
    topologySpreadConstraints: [
      {
        maxSkew: 1,
        topologyKey: "kubernetes.io/hostname",
        whenUnsatisfiable: "ScheduleAnyway",
        labelSelector: { matchLabels: selector },
      },
    ],
  };
}

function res(
  apiVersion: string,
  kind: string,
  name: string,
  body: Record<string, unknown>,
  namespace: string | null = "apps",
): PlannedResource {
  const type = `kubernetes:${apiVersion.includes("/") ? apiVersion : `core/${apiVersion}`}:${kind}`;
  return {
    type,
    name,
    urn: `urn:pulumi:test::fixture::${type}::${name}`,
    props: {
      apiVersion,
      kind,
      metadata: { name, ...(namespace ? { namespace } : {}), labels: labels(name) },
      ...body,
    },
  };
}

export function goodStack(): PlannedResource[] {
  return [
    res("v1", "Namespace", "apps", {}, null),
    res("networking.k8s.io/v1", "NetworkPolicy", "default-deny", {
      spec: { podSelector: {}, policyTypes: ["Ingress", "Egress"] },
    }),
    res("v1", "ServiceAccount", "api-sa", { automountServiceAccountToken: false }),
    res("apps/v1", "Deployment", "api", {
      spec: {
        replicas: 2,
        selector: { matchLabels: selector },
        strategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
        template: { metadata: { labels: { ...labels("api"), ...selector } }, spec: podSpec() },
      },
    }),
    res("v1", "Service", "api", {
      spec: { selector, ports: [{ name: "http", port: 80, targetPort: "http" }] },
    }),
    res("networking.k8s.io/v1", "NetworkPolicy", "api", {
      spec: {
        podSelector: { matchLabels: selector },
        policyTypes: ["Ingress", "Egress"],
        ingress: [
          {
            from: [{ podSelector: { matchLabels: { "app.kubernetes.io/name": "web" } } }],
            ports: [{ port: 8080 }],
          },
        ],
      },
    }),
    res("policy/v1", "PodDisruptionBudget", "api", {
      spec: { maxUnavailable: 1, selector: { matchLabels: selector } },
    }),
    res("batch/v1", "Job", "migrate", {
      spec: {
        ttlSecondsAfterFinished: 3600,
        backoffLimit: 2,
        template: {
          metadata: { labels: { ...labels("migrate"), ...selector } },
          spec: { ...podSpec(), restartPolicy: "Never" },
        },
      },
    }),
    res("batch/v1", "CronJob", "backup", {
      spec: {
        schedule: "0 3 * * *",
        startingDeadlineSeconds: 300,
        concurrencyPolicy: "Forbid",
        jobTemplate: {
          spec: {
            ttlSecondsAfterFinished: 3600,
            backoffLimit: 1,
            template: {
              metadata: { labels: { ...labels("backup"), ...selector } },
              spec: { ...podSpec(), restartPolicy: "Never" },
            },
          },
        },
      },
    }),
    res("rbac.authorization.k8s.io/v1", "Role", "reader", {
      rules: [{ apiGroups: [""], resources: ["configmaps"], verbs: ["get", "list"] }],
    }),
    res("rbac.authorization.k8s.io/v1", "RoleBinding", "reader", {
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "reader" },
      subjects: [{ kind: "ServiceAccount", name: "api-sa", namespace: "apps" }],
    }),
    res("v1", "ConfigMap", "settings", { data: { "app.yaml": "level: info" } }),
    res("traefik.io/v1alpha1", "Middleware", "ratelimit", {
      spec: { rateLimit: { average: 200, period: "1s", burst: 100 } },
    }),
    res("traefik.io/v1alpha1", "Middleware", "redirect", {
      spec: { redirectScheme: { scheme: "https", permanent: true } },
    }),
    res("traefik.io/v1alpha1", "IngressRoute", "web-https", {
      spec: {
        entryPoints: ["websecure"],
        routes: [
          {
            kind: "Rule",
            match: "Host(`audit.example.org`)",
            middlewares: [{ name: "ratelimit" }],
            services: [{ name: "api", port: 80 }],
          },
        ],
        tls: { secretName: "web-tls" },
      },
    }),
    // Serves only a redirect (Traefik's noop@internal), so it needs neither TLS nor a rate limit.
    res("traefik.io/v1alpha1", "IngressRoute", "web-http", {
      spec: {
        entryPoints: ["web"],
        routes: [
          {
            kind: "Rule",
            match: "Host(`audit.example.org`)",
            middlewares: [{ name: "redirect" }],
            services: [{ name: "noop@internal", kind: "TraefikService" }],
          },
        ],
      },
    }),
    res("networking.k8s.io/v1", "Ingress", "web", {
      metadata: {
        name: "web",
        namespace: "apps",
        labels: labels("web"),
        annotations: {
          "traefik.ingress.kubernetes.io/router.middlewares": "apps-ratelimit@kubernetescrd",
        },
      },
      spec: {
        ingressClassName: "traefik",
        tls: [{ hosts: ["audit.example.org"], secretName: "web-tls" }],
        rules: [
          {
            host: "audit.example.org",
            http: {
              paths: [
                {
                  path: "/",
                  pathType: "Prefix",
                  backend: { service: { name: "api", port: { number: 80 } } },
                },
              ],
            },
          },
        ],
      },
    }),
  ];
}

/** A copy of the good stack with the first object of `kind` (or named `name`) changed by `fn`. */
export function mutated(kind: string, fn: (o: any) => void, name?: string): PlannedResource[] {
  const stack = structuredClone(goodStack());
  const target = stack.find(
    (r) => r.type.endsWith(`:${kind}`) && (name === undefined || r.name === name),
  );
  if (!target) throw new Error(`fixture has no ${kind}${name ? ` ${name}` : ""}`);
  fn(target.props);
  return stack;
}

/**
 * The good stack with the Deployment "api" autoscaled: no spec.replicas, and an autoscaling/v2
 * HorizontalPodAutoscaler from `min` to `max` targeting it; `fn` may change the Deployment further.
 */
export function autoscaled(min: number, max: number, fn?: (o: any) => void): PlannedResource[] {
  const stack = mutated("Deployment", (o) => {
    delete o.spec.replicas;
    fn?.(o);
  });
  stack.push(
    res("autoscaling/v2", "HorizontalPodAutoscaler", "api", {
      spec: {
        scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: "api" },
        minReplicas: min,
        maxReplicas: max,
        metrics: [
          {
            type: "Resource",
            resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 70 } },
          },
        ],
      },
    }),
  );
  return stack;
}

/** The pod spec of a workload object (Deployment/Job template, CronJob job template). */
export function pod(o: any): any {
  return o.kind === "CronJob" ? o.spec.jobTemplate.spec.template.spec : o.spec.template.spec;
}

/** Violations of one policy, run alone at the mandatory level with the given policy config. */
export async function violationsOf(
  policy: string,
  resources: PlannedResource[],
  config: Record<string, unknown> = {},
): Promise<Violation[]> {
  const pack: PackConfigObject = {
    all: "disabled",
    [policy]: { enforcementLevel: "mandatory", ...config },
  };
  const report = await runPack(resources, { config: pack });
  return report.violations;
}

/** Asserts the good stack passes and each mutation yields exactly the expected violation(s). */
export function spec(
  policy: string,
  cases: [title: string, resources: () => PlannedResource[], message: RegExp, count?: number][],
  config: Record<string, unknown> = {},
): void {
  describe(policy, () => {
    test("the compliant fixture passes", async () => {
      expect(await violationsOf(policy, goodStack(), config)).toEqual([]);
    });
    test.each(cases)("fails: %s", async (_title, resources, message, count = 1) => {
      const vs = await violationsOf(policy, resources(), config);
      expect(vs).toHaveLength(count);
      for (const v of vs) {
        expect(v.policy).toBe(policy);
        expect(v.enforcement).toBe("mandatory");
        expect(v.message).toMatch(message);
        expect(v.message).toMatch(/\. Fix: .+/);
      }
    });
  });
}
