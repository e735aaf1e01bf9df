import { Workload, WorkloadArgs } from "../../components/apps/workload";
import {
  DEMO_PROBE,
  demoWorkloadArgs,
  expectRejectedBeforeCreating,
  only,
  runComponent,
  RecordedResource,
  specOf,
} from "../helpers/program";

const probe = DEMO_PROBE;
const spec = specOf;

/** The demo workload with one replica, one caller and the database as its only egress. */
function args(overrides: Partial<WorkloadArgs> = {}): WorkloadArgs {
  return demoWorkloadArgs({
    replicas: 1,
    ingress: [{ from: [{ podLabels: { "app.kubernetes.io/name": "caller" } }], ports: [8080] }],
    egress: [
      {
        to: [{ podLabels: { "app.kubernetes.io/name": "db" }, namespace: "auditflow-data" }],
        ports: [5432],
      },
    ],
    ...overrides,
  });
}

describe("Workload", () => {
  let single: RecordedResource[];
  beforeAll(async () => {
    single = await runComponent(() => new Workload("demo", args()));
  });

  test("a Deployment whose pods are hardened and sized", () => {
    const d = only(single, "kubernetes:apps/v1:Deployment");
    const pod = spec(d).template.spec;
    expect(pod.securityContext).toMatchObject({
      runAsNonRoot: true,
      runAsUser: 10001,
      seccompProfile: { type: "RuntimeDefault" },
    });
    expect(pod.automountServiceAccountToken).toBe(false);
    const c = pod.containers[0];
    expect(c.securityContext).toMatchObject({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
      privileged: false,
      capabilities: { drop: ["ALL"] },
    });
    expect(c.resources).toEqual({
      requests: { cpu: "50m", memory: "64Mi" },
      limits: { cpu: "200m", memory: "128Mi" },
    });
    expect(c.livenessProbe).toEqual(probe);
    expect(c.readinessProbe).toEqual({ httpGet: { path: "/readyz", port: "http" } });
    // The read-only root filesystem gets an explicit writable /tmp.
    expect(c.volumeMounts).toEqual([{ name: "tmp", mountPath: "/tmp" }]);
    expect(pod.volumes).toEqual([{ name: "tmp", emptyDir: { sizeLimit: "64Mi" } }]);
    expect(spec(d).strategy).toEqual({
      type: "RollingUpdate",
      rollingUpdate: { maxUnavailable: 0, maxSurge: 1 },
    });
  });

  test("its own ServiceAccount without a token", () => {
    const sa = only(single, "kubernetes:core/v1:ServiceAccount");
    expect(sa.inputs.automountServiceAccountToken).toBe(false);
    const pod = spec(only(single, "kubernetes:apps/v1:Deployment")).template.spec;
    expect(pod.serviceAccountName).toBe((sa.state.metadata as any).name);
    expect(pod.serviceAccountName).not.toBe("default");
  });

  test("recommended labels, and a selector that matches the pod template", () => {
    const d = only(single, "kubernetes:apps/v1:Deployment");
    expect((d.inputs.metadata as any).labels).toMatchObject({
      "app.kubernetes.io/name": "demo",
      "app.kubernetes.io/instance": "demo",
      "app.kubernetes.io/component": "api",
      "app.kubernetes.io/part-of": "auditflow",
      "app.kubernetes.io/managed-by": "pulumi",
      "app.kubernetes.io/version": "1.2.3",
    });
    expect(spec(d).template.metadata.labels).toMatchObject(spec(d).selector.matchLabels);
  });

  test("a Service on the named ports, with a stable name", () => {
    const svc = only(single, "kubernetes:core/v1:Service");
    expect((svc.inputs.metadata as any).name).toBe("demo");
    expect(spec(svc).ports).toEqual([
      { name: "http", port: 8080, targetPort: "http", protocol: "TCP" },
    ]);
  });

  test("a NetworkPolicy admitting exactly the declared peers", () => {
    const np = only(single, "kubernetes:networking.k8s.io/v1:NetworkPolicy");
    expect(spec(np).policyTypes).toEqual(["Ingress", "Egress"]);
    expect(spec(np).ingress).toEqual([
      {
        from: [{ podSelector: { matchLabels: { "app.kubernetes.io/name": "caller" } } }],
        ports: [{ protocol: "TCP", port: 8080 }],
      },
    ]);
    expect(spec(np).egress).toEqual([
      {
        to: [
          {
            podSelector: { matchLabels: { "app.kubernetes.io/name": "db" } },
            namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "auditflow-data" } },
          },
        ],
        ports: [{ protocol: "TCP", port: 5432 }],
      },
    ]);
  });

  test("no PDB and no spreading for a single replica", () => {
    expect(single.filter((r) => r.type.endsWith("PodDisruptionBudget"))).toHaveLength(0);
    expect(
      spec(only(single, "kubernetes:apps/v1:Deployment")).template.spec.topologySpreadConstraints,
    ).toBeUndefined();
  });

  test("replicas > 1 add a PDB, spreading and anti-affinity", async () => {
    const rs = await runComponent(() => new Workload("demo", args({ replicas: 3 })));
    const pdb = only(rs, "kubernetes:policy/v1:PodDisruptionBudget");
    expect(spec(pdb)).toEqual({
      maxUnavailable: 1,
      selector: {
        matchLabels: { "app.kubernetes.io/name": "demo", "app.kubernetes.io/instance": "demo" },
      },
    });
    const pod = spec(only(rs, "kubernetes:apps/v1:Deployment")).template.spec;
    expect(pod.topologySpreadConstraints[0]).toMatchObject({
      topologyKey: "kubernetes.io/hostname",
      maxSkew: 1,
    });
    expect(
      pod.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution,
    ).toHaveLength(1);
  });

  test("a StatefulSet with a volume per pod and a governing headless Service", async () => {
    const rs = await runComponent(
      () =>
        new Workload(
          "db",
          args({
            kind: "StatefulSet",
            identity: { name: "db", component: "database" },
            persistentVolume: {
              name: "data",
              mountPath: "/var/lib/data",
              size: "5Gi",
              storageClass: "local-path",
            },
          }),
        ),
    );
    const sts = only(rs, "kubernetes:apps/v1:StatefulSet");
    expect(spec(sts).volumeClaimTemplates[0].spec).toMatchObject({
      storageClassName: "local-path",
      resources: { requests: { storage: "5Gi" } },
    });
    expect(spec(sts).template.spec.containers[0].volumeMounts).toContainEqual({
      name: "data",
      mountPath: "/var/lib/data",
    });
    const headless = only(rs, "kubernetes:core/v1:Service", "db-headless");
    expect(spec(headless).clusterIP).toBe("None");
    expect(spec(sts).serviceName).toBe("db-headless");
  });

  test("placement pins nodes and architecture", async () => {
    const rs = await runComponent(
      () => new Workload("demo", args({ placement: { nodes: ["n1", "n2"], arch: "amd64" } })),
    );
    const pod = spec(only(rs, "kubernetes:apps/v1:Deployment")).template.spec;
    expect(pod.nodeSelector).toEqual({ "kubernetes.io/arch": "amd64" });
    expect(
      pod.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0]
        .matchExpressions[0],
    ).toEqual({ key: "kubernetes.io/hostname", operator: "In", values: ["n1", "n2"] });
  });

  test("API access mounts the token and labels the pods for API egress", async () => {
    const rs = await runComponent(
      () => new Workload("demo", args({ automountServiceAccountToken: true })),
    );
    const pod = spec(only(rs, "kubernetes:apps/v1:Deployment")).template;
    expect(pod.spec.automountServiceAccountToken).toBe(true);
    expect(pod.metadata.labels["auditflow.dev/api-access"]).toBe("true");
  });

  test("runs in preview mode, where computed values are unknown", async () => {
    const rs = await runComponent(() => new Workload("demo", args({ replicas: 2 })), true);
    expect(rs.map((r) => r.type).sort()).toEqual(
      [
        "auditflow:apps:Workload",
        "kubernetes:apps/v1:Deployment",
        "kubernetes:core/v1:Service",
        "kubernetes:core/v1:ServiceAccount",
        "kubernetes:networking.k8s.io/v1:NetworkPolicy",
        "kubernetes:policy/v1:PodDisruptionBudget",
        "pulumi:pulumi:Stack",
      ].sort(),
    );
  });

  const bad: [string, Partial<WorkloadArgs> | ((a: WorkloadArgs) => void), RegExp][] = [
    ["zero replicas", { replicas: 0 }, /replicas must be a whole number >= 1 \(got 0\)/],
    ["no containers", { containers: [] }, /containers must list at least one container/],
    [
      "image tagged latest",
      (a) => (a.containers[0]!.image = "ghcr.io/x/y:latest"),
      /container "app": image .* 'latest'/,
    ],
    [
      "limit below request",
      (a) => (a.containers[0]!.resources.limits.memory = "32Mi"),
      /limits.memory 32Mi is below requests.memory 64Mi/,
    ],
    [
      "bad cpu quantity",
      (a) => (a.containers[0]!.resources.requests.cpu = "lots"),
      /resources cpu must be quantities/,
    ],
    [
      "root user",
      { podSecurity: { runAsUser: 0 } },
      /podSecurity.runAsUser must be a non-zero UID/,
    ],
    [
      "volume on a Deployment",
      { persistentVolume: { name: "d", mountPath: "/d", size: "1Gi" } },
      /persistentVolume is only allowed with kind StatefulSet/,
    ],
    [
      "missing probe",
      (a) => delete (a.containers[0] as any).readinessProbe,
      /livenessProbe and readinessProbe are required/,
    ],
    [
      "duplicate container names",
      (a) => a.containers.push({ ...a.containers[0]! }),
      /container names must be unique/,
    ],
    [
      "empty peer",
      { ingress: [{ from: [{}], ports: [8080] }] },
      /ingress\[0\].from\[0\] must set podLabels, namespace or cidr/,
    ],
  ];
  test.each(bad)("rejects %s before creating anything", async (_t, change, message) => {
    const a = args();
    if (typeof change === "function") change(a);
    else Object.assign(a, change);
    await expectRejectedBeforeCreating(() => new Workload("demo", a), message);
  });
});
