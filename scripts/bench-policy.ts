/**
 * Benchmark: evaluates the pack over a generated corpus of mixed Kubernetes objects and prints
 * objects per second and total time, for the resource policies and the stack policies separately.
 *
 *   npm run bench:policy [-- --objects 10000 --rounds 3]
 *
 * The corpus mixes compliant and broken Deployments, StatefulSets, DaemonSets, Jobs, CronJobs,
 * Services, NetworkPolicies, PDBs, ServiceAccounts, Roles, ConfigMaps and Ingresses over a few
 * namespaces, so every policy has work to do and violations are reported, as in a real review.
 */
import { parseArgs } from "util";
import { PlannedResource, runPack } from "../policy/engine/evaluate";

const KINDS = [
  "Deployment",
  "StatefulSet",
  "DaemonSet",
  "Job",
  "CronJob",
  "Service",
  "NetworkPolicy",
  "PodDisruptionBudget",
  "ServiceAccount",
  "Role",
  "ConfigMap",
  "Ingress",
];

/** `n` objects cycling through KINDS over 7 namespaces; every fifth one broken. */
export function corpus(n: number): PlannedResource[] {
  return Array.from({ length: n }, (_, i) => benchObject(i));
}

/** The i-th object of the corpus. */
function benchObject(i: number): PlannedResource {
  const kind = KINDS[i % KINDS.length]!;
  const ns = `team-${i % 7}`;
  const app = `app-${Math.floor(i / KINDS.length)}`;
  const broken = i % 5 === 0;
  const labels = {
    "app.kubernetes.io/name": app,
    "app.kubernetes.io/part-of": "bench",
    "app.kubernetes.io/managed-by": "pulumi",
  };
  const group = apiGroupOf(kind);
  const props: Record<string, unknown> = {
    apiVersion: group,
    kind,
    metadata: { name: `${app}-${kind.toLowerCase()}`, namespace: ns, labels },
  };
  const spec = specOf(kind, app, labels, broken);
  if (spec) props.spec = spec;
  if (kind === "ServiceAccount") props.automountServiceAccountToken = broken;
  if (kind === "Role")
    props.rules = [{ apiGroups: [""], resources: broken ? ["*"] : ["configmaps"], verbs: ["get"] }];
  if (kind === "ConfigMap") props.data = broken ? { password: "x" } : { "app.yaml": "a: 1" };
  const type = `kubernetes:${group.includes("/") ? group : `core/${group}`}:${kind}`;
  return {
    urn: `urn:pulumi:bench::bench::${type}::${ns}/${app}-${i}`,
    type,
    name: `${app}-${i}`,
    props,
  };
}

/** The apiVersion of a kind of the corpus. */
function apiGroupOf(kind: string): string {
  if (["Deployment", "StatefulSet", "DaemonSet"].includes(kind)) return "apps/v1";
  if (["Job", "CronJob"].includes(kind)) return "batch/v1";
  if (kind === "NetworkPolicy" || kind === "Ingress") return "networking.k8s.io/v1";
  if (kind === "PodDisruptionBudget") return "policy/v1";
  if (kind === "Role") return "rbac.authorization.k8s.io/v1";
  return "v1";
}

/** The spec of an object of the kind, or undefined for kinds without one. */
function specOf(
  kind: string,
  app: string,
  labels: Record<string, string>,
  broken: boolean,
): unknown {
  const template = { metadata: { labels }, spec: benchPod(app, broken) };
  const specs: Record<string, unknown> = {
    Deployment: {
      replicas: 2,
      selector: { matchLabels: labels },
      strategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 0 } },
      template,
    },
    StatefulSet: { replicas: 3, selector: { matchLabels: labels }, template, serviceName: app },
    DaemonSet: { selector: { matchLabels: labels }, template },
    Job: { backoffLimit: 1, ttlSecondsAfterFinished: 60, template },
    CronJob: {
      schedule: "*/5 * * * *",
      startingDeadlineSeconds: 60,
      concurrencyPolicy: "Forbid",
      jobTemplate: { spec: { backoffLimit: 1, ttlSecondsAfterFinished: 60, template } },
    },
    Service: { selector: labels, ports: [{ port: 80, targetPort: "http" }] },
    NetworkPolicy: { podSelector: { matchLabels: labels }, policyTypes: ["Ingress", "Egress"] },
    PodDisruptionBudget: { maxUnavailable: broken ? 0 : 1, selector: { matchLabels: labels } },
    Ingress: {
      tls: broken ? [] : [{ hosts: [`${app}.example.org`], secretName: app }],
      rules: [{ host: `${app}.example.org` }],
    },
  };
  return specs[kind];
}

/** A pod spec: compliant, or (broken) privileged, unpinned, without resources, a secret in env. */
function benchPod(app: string, broken: boolean): Record<string, unknown> {
  const container = {
    name: "main",
    image: broken ? "nginx:latest" : "ghcr.io/bench/app:1.0.0",
    imagePullPolicy: "IfNotPresent",
    ports: [{ name: "http", containerPort: 8080 }],
    env: broken ? [{ name: "API_TOKEN", value: "x" }] : [{ name: "LOG_LEVEL", value: "info" }],
    resources: broken
      ? {}
      : { requests: { cpu: "10m", memory: "16Mi" }, limits: { cpu: "50m", memory: "32Mi" } },
    livenessProbe: { httpGet: { path: "/healthz", port: "http" } },
    readinessProbe: { httpGet: { path: "/readyz", port: "http" } },
    securityContext: broken
      ? { privileged: true }
      : {
          runAsNonRoot: true,
          allowPrivilegeEscalation: false,
          readOnlyRootFilesystem: true,
          capabilities: { drop: ["ALL"] },
        },
  };
  return {
    serviceAccountName: broken ? undefined : app,
    automountServiceAccountToken: false,
    securityContext: {
      runAsNonRoot: true,
      runAsUser: 10001,
      seccompProfile: { type: "RuntimeDefault" },
    },
    containers: [container],
    topologySpreadConstraints: [
      { maxSkew: 1, topologyKey: "kubernetes.io/hostname", whenUnsatisfiable: "ScheduleAnyway" },
    ],
  };
}

async function main() {
  const { values } = parseArgs({
    options: {
      objects: { type: "string", default: "10000" },
      rounds: { type: "string", default: "3" },
    },
  });
  const n = Number(values.objects);
  const rounds = Number(values.rounds);
  const resources = corpus(n);
  const config = { all: "mandatory", "ephemeral-storage-limits": "disabled" } as const;
  // One warm-up run so module loading and JIT do not count.
  await runPack(resources.slice(0, 500), { config });
  console.log(`Policy pack benchmark: ${n} objects, ${rounds} rounds, Node ${process.version}`);
  for (const only of ["resource", "stack"] as const) {
    const times: number[] = [];
    let violations = 0;
    for (let r = 0; r < rounds; r++) {
      const t0 = process.hrtime.bigint();
      const report = await runPack(resources, { config, only });
      times.push(Number(process.hrtime.bigint() - t0) / 1e6);
      violations = report.violations.length;
    }
    const best = Math.min(...times);
    const median = [...times].sort((a, b) => a - b)[Math.floor(times.length / 2)]!;
    console.log(
      `${only.padEnd(8)} policies: median ${median.toFixed(0)} ms, best ${best.toFixed(0)} ms, ` +
        `${Math.round((n / median) * 1000).toLocaleString("en-US")} objects/s (median), ${violations} violations reported`,
    );
  }
}

if (require.main === module)
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
