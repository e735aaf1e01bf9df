import {
  AuditFlowService,
  AuditFlowServiceArgs,
  METRICS,
  PRESTOP_SECONDS,
} from "../../components/apps/auditflow-service";
import { RULES_DIR } from "../../components/apps/analysis-rules";
import { catalog } from "../../components/apps/catalog";
import { Workload, WorkloadArgs } from "../../components/apps/workload";
import { Connection } from "../../components/contracts";
import {
  demoWorkloadArgs,
  expectRejectedBeforeCreating,
  ofKind,
  only,
  runComponent,
  RecordedResource,
  specOf,
} from "../helpers/program";

const spec = specOf;

/** The demo workload autoscaled from 1 to 4 replicas on CPU. */
function workloadArgs(overrides: Partial<WorkloadArgs> = {}): WorkloadArgs {
  return demoWorkloadArgs({
    autoscaling: { minReplicas: 1, maxReplicas: 4, cpuUtilization: 70 },
    ...overrides,
  });
}

describe("Workload with autoscaling", () => {
  let rs: RecordedResource[];
  beforeAll(async () => {
    rs = await runComponent(() => new Workload("demo", workloadArgs()));
  });

  test("leaves spec.replicas to the HPA and gives the Deployment the stable name the HPA targets", () => {
    const d = only(rs, "kubernetes:apps/v1:Deployment");
    expect("replicas" in spec(d) && spec(d).replicas !== undefined).toBe(false);
    expect((d.inputs.metadata as any).name).toBe("demo");
    const hpa = only(rs, "kubernetes:autoscaling/v2:HorizontalPodAutoscaler");
    expect(spec(hpa)).toEqual({
      scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: "demo" },
      minReplicas: 1,
      maxReplicas: 4,
      metrics: [
        {
          type: "Resource",
          resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 70 } },
        },
      ],
      behavior: { scaleDown: { stabilizationWindowSeconds: 300 } },
    });
  });

  test("adds the PDB and spreading for the HPA's maximum even when its minimum is 1", () => {
    expect(ofKind(rs, "PodDisruptionBudget")).toHaveLength(1);
    const pod = spec(only(rs, "kubernetes:apps/v1:Deployment")).template.spec;
    expect(pod.topologySpreadConstraints).toHaveLength(1);
  });

  test("a fixed-replica Deployment keeps its replicas, auto-name and no HPA", async () => {
    const fixed = await runComponent(
      () => new Workload("demo", workloadArgs({ autoscaling: undefined, replicas: 2 })),
    );
    const d = only(fixed, "kubernetes:apps/v1:Deployment");
    expect(spec(d).replicas).toBe(2);
    expect((d.inputs.metadata as any).name).toBeUndefined();
    expect(ofKind(fixed, "HorizontalPodAutoscaler")).toEqual([]);
  });

  const bad: [string, Partial<WorkloadArgs>, RegExp][] = [
    [
      "replicas with autoscaling",
      { replicas: 2 },
      /replicas must not be set with autoscaling .*got replicas 2/,
    ],
    [
      "max below min",
      { autoscaling: { minReplicas: 3, maxReplicas: 2, cpuUtilization: 70 } },
      /autoscaling.maxReplicas must be a whole number >= minReplicas 3 \(got 2\)/,
    ],
    [
      "no target",
      { autoscaling: { minReplicas: 1, maxReplicas: 2 } },
      /autoscaling needs a target/,
    ],
    [
      "a zero percent target",
      { autoscaling: { minReplicas: 1, maxReplicas: 2, memoryUtilization: 0 } },
      /autoscaling.memoryUtilization must be a whole percent from 1 to 1000 \(got 0\)/,
    ],
    [
      "autoscaling on a StatefulSet",
      { kind: "StatefulSet" },
      /autoscaling is only allowed with kind Deployment/,
    ],
    [
      "a preStop sleep as long as the grace period",
      {
        terminationGracePeriodSeconds: 10,
        containers: [{ ...workloadArgs().containers[0]!, preStopSleepSeconds: 10 }],
      },
      /container "app": preStopSleepSeconds must be a whole number from 1 to 9, below terminationGracePeriodSeconds 10 \(got 10\)/,
    ],
    [
      "a zero progress deadline",
      { progressDeadlineSeconds: 0 },
      /progressDeadlineSeconds must be a whole number >= 1 \(got 0\)/,
    ],
  ];
  test.each(bad)("rejects %s before creating anything", async (_t, over, message) => {
    await expectRejectedBeforeCreating(() => new Workload("demo", workloadArgs(over)), message);
  });
});

/** A connection of each kind, as the data components hand them out. */
function connection(kind: Connection["kind"]): Connection {
  const base = {
    host: `${kind}.auditflow-data.svc.cluster.local`,
    port: 1234,
    username: "audit_log_analysis",
    password: { name: `${kind}-secret`, key: "password" },
    url: { name: `${kind}-secret`, key: "url" },
    peer: { podLabels: { "app.kubernetes.io/name": kind }, namespace: "auditflow-data" },
  };
  return kind === "postgres"
    ? { ...base, kind, database: "audit_log_analysis" }
    : kind === "redis"
      ? { ...base, kind, db: 0 }
      : { ...base, kind, vhost: "auditflow" };
}

function analysisArgs(over: Partial<AuditFlowServiceArgs> = {}): AuditFlowServiceArgs {
  const traits = catalog["audit-log-analysis"];
  return {
    service: "audit-log-analysis",
    traits,
    namespace: "auditflow",
    image: "ghcr.io/auditflow/audit-log-analysis:0.4.2",
    replicas: 2,
    resources: {
      requests: { cpu: "100m", memory: "128Mi" },
      limits: { cpu: "500m", memory: "256Mi" },
    },
    connections: traits.uses.map(connection),
    rules: [
      {
        id: "privilege-change",
        description: "A role changed.",
        severity: "medium",
        match: { eventTypes: ["iam.role.*"] },
      },
    ],
    ...over,
  };
}

describe("AuditFlowService", () => {
  let rs: RecordedResource[];
  beforeAll(async () => {
    rs = await runComponent(() => new AuditFlowService("audit-log-analysis", analysisArgs()));
  });
  const pod = () => spec(only(rs, "kubernetes:apps/v1:Deployment")).template.spec;
  const app = () => pod().containers[0];

  test("renders the rules into a ConfigMap with a stable name", () => {
    const cm = only(rs, "kubernetes:core/v1:ConfigMap");
    expect((cm.inputs.metadata as any).name).toBe("audit-log-analysis-rules");
    const doc = JSON.parse((cm.inputs.data as any)["rules.json"]);
    expect(doc.rules.map((r: { id: string }) => r.id)).toEqual(["privilege-change"]);
  });

  test("mounts the rules ConfigMap as a read-only directory, never with subPath", () => {
    expect(pod().volumes).toContainEqual({
      name: "rules",
      configMap: { name: "audit-log-analysis-rules" },
    });
    const mount = app().volumeMounts.find((m: any) => m.name === "rules");
    expect(mount).toEqual({ name: "rules", mountPath: RULES_DIR, readOnly: true });
    expect(app().env).toContainEqual({ name: "RULES_DIR", value: RULES_DIR });
  });

  test("a rules change touches only the ConfigMap: the pod template stays byte for byte", async () => {
    const changed = await runComponent(
      () =>
        new AuditFlowService(
          "audit-log-analysis",
          analysisArgs({
            rules: [
              {
                id: "privilege-change",
                description: "A role or policy changed.",
                severity: "critical",
                match: { eventTypes: ["iam.*"] },
              },
            ],
          }),
        ),
    );
    const template = (r: RecordedResource[]) =>
      JSON.stringify(spec(only(r, "kubernetes:apps/v1:Deployment")).template);
    expect(template(changed)).toBe(template(rs));
    const data = (r: RecordedResource[]) =>
      (only(r, "kubernetes:core/v1:ConfigMap").inputs.data as any)["rules.json"];
    expect(data(changed)).not.toBe(data(rs));
  });

  test("serves metrics on the port named metrics, annotated and open to the monitoring namespace", () => {
    expect(app().ports).toContainEqual({
      name: METRICS.portName,
      containerPort: METRICS.port,
      protocol: "TCP",
    });
    const annotations = spec(only(rs, "kubernetes:apps/v1:Deployment")).template.metadata
      .annotations;
    expect(annotations).toEqual({
      "prometheus.io/scrape": "true",
      "prometheus.io/port": String(METRICS.port),
      "prometheus.io/path": "/metrics",
    });
    const np = spec(only(rs, "kubernetes:networking.k8s.io/v1:NetworkPolicy"));
    expect(np.ingress).toContainEqual({
      from: [
        {
          namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "monitoring" } },
          podSelector: {},
        },
      ],
      ports: [{ protocol: "TCP", port: METRICS.port }],
    });
  });

  test("sleeps before SIGTERM and gets a grace period covering the sleep and its drain time", () => {
    expect(app().lifecycle).toEqual({ preStop: { sleep: { seconds: PRESTOP_SECONDS } } });
    const drain = catalog["audit-log-analysis"].drainSeconds;
    expect(pod().terminationGracePeriodSeconds).toBeGreaterThan(PRESTOP_SECONDS + drain);
    expect(app().env).toContainEqual({ name: "SHUTDOWN_TIMEOUT_SECONDS", value: String(drain) });
  });

  test("a rollout fails after a progress deadline that allows a cold pull and the startup budget", () => {
    const deadline = spec(only(rs, "kubernetes:apps/v1:Deployment")).progressDeadlineSeconds;
    expect(deadline).toBeGreaterThan(catalog["audit-log-analysis"].startupSeconds);
    expect(deadline).toBeLessThan(600);
  });

  test("a service without rules gets no ConfigMap and no mount", async () => {
    const plain = await runComponent(
      () => new AuditFlowService("audit-log-analysis", analysisArgs({ rules: undefined })),
    );
    expect(ofKind(plain, "ConfigMap")).toEqual([]);
    const c = spec(only(plain, "kubernetes:apps/v1:Deployment")).template.spec.containers[0];
    expect(c.volumeMounts.map((m: any) => m.name)).toEqual(["tmp"]);
  });

  test("rejects rules for a service that does not read them", () => {
    const traits = catalog["notification-service"];
    expect(
      () =>
        new AuditFlowService("notification-service", {
          ...analysisArgs(),
          service: "notification-service",
          traits,
          connections: traits.uses.map(connection),
        }),
    ).toThrow(/AuditFlowService notification-service: rules are only allowed/);
  });
});
