/** The monitoring components and their generated configuration under Pulumi mocks. */
import * as fc from "fast-check";
import * as pulumi from "@pulumi/pulumi";
import { parse } from "yaml";
import { Workload } from "../../components/apps/workload";
import { cronMaxGapHours } from "../../components/lib/cron";
import { alertmanagerConfig } from "../../components/monitoring/alertmanager-config";
import { allDashboards, DATASOURCES } from "../../components/monitoring/dashboards";
import { MONITORING_DEFAULTS, Monitoring } from "../../components/monitoring/monitoring";
import { monitoringQuotas } from "../../components/monitoring/quota";
import { certManagerRules } from "../../components/ingress/cert-manager";
import { allRuleGroups, isAlert, RuleParams } from "../../components/monitoring/rules";
import {
  expectRejectedBeforeCreating,
  only,
  runComponent,
  RecordedResource,
} from "../helpers/program";

const RULE_PARAMS: RuleParams = {
  appsNamespace: "auditflow",
  deadLetterQueue: "audit.dead-letter",
  backupVerifyMaxAgeHours: 26,
  slo: { availability: 0.995, latency: 0.99, latencyThresholdSeconds: 0.5 },
  extraGroups: [certManagerRules()],
};

/** Every alert the issue asks for, by area. */
const REQUIRED_ALERTS = [
  "NodeFilesystemAlmostFull",
  "NodeFilesystemFillingUp",
  "NodeMemoryHigh",
  "NodeCPUHigh",
  "NodeClockSkew",
  "KubePodCrashLooping",
  "KubePodNotReady",
  "KubeDeploymentRolloutStuck",
  "KubeDeploymentReplicasMismatch",
  "KubeStatefulSetReplicasMismatch",
  "KubeJobFailed",
  "KubePersistentVolumeFillingUp",
  "KubeNodeNotReady",
  "CPUThrottlingHigh",
  "PostgresDown",
  "PostgresConnectionsNearMax",
  "PgBouncerClientsWaiting",
  "RedisDown",
  "RedisMemoryNearMax",
  "RedisEvictions",
  "RabbitMQMemoryAlarm",
  "RabbitMQDiskAlarm",
  "RabbitMQDeadLetterQueueGrowing",
  "RabbitMQQueueWithoutConsumers",
  "BackupVerificationFailed",
  "BackupVerificationStale",
  "CertificateExpiringSoon",
  "CertificateNotReady",
  "TraefikCertificateExpiringSoon",
  "AuditFlowErrorBudgetBurn",
  "AuditFlowErrorBudgetBurnSlow",
  "AuditFlowLatencyBudgetBurn",
  "AuditFlowLatencyBudgetBurnSlow",
  "Watchdog",
  "TargetDown",
];

const sizes = {
  requests: { cpu: "10m", memory: "16Mi" },
  limits: { cpu: "100m", memory: "32Mi" },
};

function monitoring(over: Partial<ConstructorParameters<typeof Monitoring>[1]> = {}) {
  return new Monitoring("mon", {
    namespace: "monitoring",
    nodeNamespace: "monitoring-node",
    stack: "test",
    scrapeTargets: [
      { namespace: "auditflow", ports: [9464] },
      { namespace: "auditflow-data", ports: [9187] },
      { namespace: "kube-system", ports: [9100] },
    ],
    nodeAddresses: ["192.0.2.10", "192.0.2.11"],
    prometheus: { retention: "7d", retentionSize: "3GB", storage: "4Gi" },
    loki: { retention: "168h", storage: "4Gi" },
    alertmanager: {
      storage: "256Mi",
      receivers: [
        {
          name: "oncall",
          severities: ["critical"],
          webhook: { url: "https://hooks.test/am" },
          slack: { channel: "#alerts" },
        },
        { name: "team", severities: ["critical", "warning"], email: { to: "ops@example.test" } },
      ],
      smtp: { smarthost: "smtp.example.test:587", from: "am@example.test", authUsername: "am" },
      smtpPassword: pulumi.secret("smtp-secret-value"),
      slackApiUrl: pulumi.secret("https://hooks.slack.test/secret-path"),
    },
    rules: RULE_PARAMS,
    dashboards: { apps: "auditflow", data: "auditflow-data", deadLetterQueue: "audit.dead-letter" },
    ...over,
  });
}

const allText = (rs: RecordedResource[], kind: string) =>
  rs
    .filter((r) => r.type === `kubernetes:core/v1:${kind}`)
    .map((r) => JSON.stringify(r.inputs))
    .join("\n");

describe("alert rules", () => {
  const alerts = allRuleGroups(RULE_PARAMS).flatMap((g) => g.rules.filter(isAlert));

  test("cover every alert the platform promises, each exactly once", () => {
    const names = alerts.map((a) => a.alert);
    expect(new Set(names).size).toBe(names.length);
    expect(names.slice().sort()).toEqual(REQUIRED_ALERTS.slice().sort());
  });

  test("each carries a severity, a summary, a description and a runbook line", () => {
    for (const a of alerts) {
      expect([a.alert, ["critical", "warning", "none"].includes(a.severity)]).toEqual([
        a.alert,
        true,
      ]);
      for (const k of ["summary", "description", "runbook"] as const) {
        expect([a.alert, k, a[k].trim().length > 10]).toEqual([a.alert, k, true]);
      }
    }
    expect(alerts.filter((a) => a.severity === "none").map((a) => a.alert)).toEqual(["Watchdog"]);
  });

  test("cert-manager's alerts are defined once, by the ingress component, and loaded as extra groups", () => {
    const own = allRuleGroups({ ...RULE_PARAMS, extraGroups: undefined }).flatMap((g) =>
      g.rules.filter(isAlert).map((a) => a.alert),
    );
    expect(own.filter((a) => a.startsWith("Certificate"))).toEqual([]);
    const loaded = alerts.filter((a) => a.alert.startsWith("Certificate"));
    expect(loaded).toEqual(certManagerRules().rules);
  });

  test("the backup staleness threshold and the dead-letter queue come from the parameters", () => {
    const stale = allRuleGroups({ ...RULE_PARAMS, backupVerifyMaxAgeHours: 170 })
      .flatMap((g) => g.rules.filter(isAlert))
      .find((a) => a.alert === "BackupVerificationStale")!;
    expect(stale.expr).toContain("> 170 * 3600");
    const dlq = alerts.find((a) => a.alert === "RabbitMQDeadLetterQueueGrowing")!;
    expect(dlq.expr).toContain('queue="audit.dead-letter"');
  });

  test("pod alerts carry the node label, so a node that is not ready inhibits them", () => {
    for (const name of ["KubePodCrashLooping", "KubePodNotReady"]) {
      expect(alerts.find((a) => a.alert === name)!.expr).toContain("group_left (node)");
    }
    const cfg = alertmanagerConfig({ receivers: [], secrets: {} }) as any;
    expect(cfg.inhibit_rules[0]).toEqual({
      source_matchers: ['alertname="KubeNodeNotReady"'],
      target_matchers: ['alertname!="KubeNodeNotReady"'],
      equal: ["node"],
    });
  });
});

describe("Alertmanager configuration", () => {
  test("routes Watchdog to the null receiver and each severity to the receivers that asked for it", () => {
    const cfg = alertmanagerConfig({
      receivers: [
        { name: "pager", severities: ["critical"], webhook: { url: "https://x.test/h" } },
        { name: "mail", severities: ["critical", "warning"], email: { to: "a@b.test" } },
      ],
      smtp: { smarthost: "smtp.test:25", from: "am@b.test" },
      secrets: {},
    }) as any;
    expect(cfg.route.routes.map((r: any) => [r.receiver, r.matchers[0]])).toEqual([
      ["null", 'alertname="Watchdog"'],
      ["null", 'severity="none"'],
      ["pager", 'severity="critical"'],
      ["mail", 'severity="critical"'],
      ["mail", 'severity="warning"'],
    ]);
    expect(cfg.route.receiver).toBe("mail");
    expect(cfg.receivers.map((r: any) => r.name)).toEqual(["null", "pager", "mail"]);
  });
});

describe("Monitoring", () => {
  let rs: RecordedResource[];
  beforeAll(async () => {
    rs = await runComponent(() => monitoring());
  });

  test("Prometheus may read nodes, nodes/metrics, services, endpoints(lices) and pods, and /metrics: nothing more", () => {
    const role = only(rs, "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole", "mon-prometheus");
    expect((role.inputs as any).rules).toEqual([
      {
        apiGroups: [""],
        resources: ["nodes", "nodes/metrics", "services", "endpoints", "pods"],
        verbs: ["get", "list", "watch"],
      },
      {
        apiGroups: ["discovery.k8s.io"],
        resources: ["endpointslices"],
        verbs: ["get", "list", "watch"],
      },
      { nonResourceURLs: ["/metrics"], verbs: ["get"] },
    ]);
  });

  test("no ClusterRole of the stack reads Secrets or ConfigMaps or writes anything", () => {
    const roles = rs.filter(
      (r) => r.type === "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole",
    );
    expect(roles.map((r) => r.name).sort()).toEqual([
      "mon-kube-state-metrics",
      "mon-log-agent",
      "mon-prometheus",
    ]);
    for (const r of roles) {
      for (const rule of (r.inputs as any).rules) {
        expect([r.name, rule.resources ?? []]).not.toEqual([
          r.name,
          expect.arrayContaining(["secrets"]),
        ]);
        expect([r.name, rule.resources ?? []]).not.toEqual([
          r.name,
          expect.arrayContaining(["configmaps"]),
        ]);
        expect([
          r.name,
          rule.verbs.every((v: string) => ["get", "list", "watch"].includes(v)),
        ]).toEqual([r.name, true]);
      }
    }
  });

  test("the receivers' credentials reach only Alertmanager's Secret, marked secret", () => {
    const secret = only(rs, "kubernetes:core/v1:Secret", "mon-alertmanager-config");
    expect(secret.secretPaths).toEqual(["stringData"]);
    const am = parse((secret.inputs.stringData as any)["alertmanager.yml"]);
    expect(am.global.smtp_auth_password).toBe("smtp-secret-value");
    expect(am.global.slack_api_url).toBe("https://hooks.slack.test/secret-path");
    expect(allText(rs, "ConfigMap")).not.toContain("smtp-secret-value");
    expect(allText(rs, "ConfigMap")).not.toContain("secret-path");
  });

  test("Grafana: anonymous access off, admin password generated into a Secret, datasources by uid", () => {
    const admin = only(rs, "kubernetes:core/v1:Secret", "mon-grafana-admin");
    expect(admin.secretPaths).toEqual(["stringData"]);
    const deploy = only(rs, "kubernetes:apps/v1:Deployment", "mon-grafana");
    const env = (deploy.inputs.spec as any).template.spec.containers[0].env;
    expect(env).toContainEqual({ name: "GF_AUTH_ANONYMOUS_ENABLED", value: "false" });
    expect(
      env.find((e: any) => e.name === "GF_SECURITY_ADMIN_PASSWORD").valueFrom.secretKeyRef.key,
    ).toBe("admin-password");
    const prov = only(rs, "kubernetes:core/v1:ConfigMap", "mon-grafana-provisioning");
    const ds = parse((prov.inputs.data as any)["datasources.yaml"]);
    expect(ds.datasources.map((d: any) => [d.uid, d.type, d.url])).toEqual([
      ["prometheus", "prometheus", "http://prometheus.monitoring.svc.cluster.local:9090"],
      ["loki", "loki", "http://loki.monitoring.svc.cluster.local:3100"],
    ]);
  });

  test("node-exporter and the log agent are DaemonSets in the node namespace with reasoned exemptions", () => {
    for (const name of ["mon-node-exporter", "mon-log-agent"]) {
      const ds = only(rs, "kubernetes:apps/v1:DaemonSet", name);
      const meta = ds.inputs.metadata as any;
      expect(meta.namespace).toBe("monitoring-node");
      expect(meta.annotations["policy.auditflow.dev/exempt"]).toContain("no-host-path");
      expect(meta.annotations["policy.auditflow.dev/exempt-reason"].length).toBeGreaterThan(40);
      const pod = (ds.inputs.spec as any).template.spec;
      expect(pod.tolerations).toEqual([{ operator: "Exists" }]);
      for (const v of pod.volumes.filter((x: any) => x.hostPath)) {
        const mount = pod.containers[0].volumeMounts.find((m: any) => m.name === v.name);
        // Only the agent's own state directory is writable on the host.
        expect([v.hostPath.path, mount.readOnly]).toEqual([
          v.hostPath.path,
          v.hostPath.path !== "/var/lib/auditflow-fluent-bit",
        ]);
      }
    }
    const ne = only(rs, "kubernetes:apps/v1:DaemonSet", "mon-node-exporter");
    const nePod = (ne.inputs.spec as any).template.spec;
    expect([nePod.hostNetwork, nePod.hostPID, nePod.securityContext.runAsUser]).toEqual([
      true,
      true,
      65534,
    ]);
  });

  test("every monitoring pod is annotated for scraping with a port it declares", () => {
    const workloads = rs.filter((r) => /apps\/v1:(Deployment|StatefulSet|DaemonSet)$/.test(r.type));
    expect(workloads).toHaveLength(7);
    for (const w of workloads) {
      const t = (w.inputs.spec as any).template;
      const port = Number(t.metadata.annotations["prometheus.io/port"]);
      const declared = t.spec.containers.flatMap((c: any) =>
        (c.ports ?? []).map((p: any) => p.containerPort),
      );
      expect([
        w.name,
        t.metadata.annotations["prometheus.io/scrape"],
        declared.includes(port),
      ]).toEqual([w.name, "true", true]);
    }
  });

  test("a NetworkPolicy never admits everyone: every ingress rule names its peers", () => {
    for (const np of rs.filter((r) => r.type === "kubernetes:networking.k8s.io/v1:NetworkPolicy")) {
      for (const rule of (np.inputs.spec as any).ingress ?? []) {
        expect([np.name, rule.from.length > 0]).toEqual([np.name, true]);
      }
    }
  });
});

describe("dashboards", () => {
  const dashboards = allDashboards({
    apps: "auditflow",
    data: "auditflow-data",
    deadLetterQueue: "dlq",
  });
  const panels = Object.values(dashboards).flatMap((d) => (d.panels ?? []) as any[]);

  test("three dashboards with unique uids, each with panels", () => {
    expect(Object.keys(dashboards)).toEqual(["operations.json", "data.json", "cluster.json"]);
    expect(new Set(Object.values(dashboards).map((d) => d.uid)).size).toBe(3);
  });

  test("the operations dashboard shows the last 50 log lines of the apps namespace", () => {
    const ops = (dashboards["operations.json"]!.panels ?? []) as any[];
    const logs = ops.find((p) => p.type === "logs");
    expect(logs.targets[0]).toMatchObject({ expr: '{namespace="auditflow"}', maxLines: 50 });
  });

  test("every panel and target names a provisioned datasource", () => {
    const uids = Object.values(DATASOURCES).map((d) => d.uid);
    for (const p of panels.filter((x) => x.type !== "row")) {
      expect([p.title, uids.includes(p.datasource?.uid)]).toEqual([p.title, true]);
      for (const t of p.targets)
        expect([p.title, t.datasource.uid]).toEqual([p.title, p.datasource.uid]);
    }
  });
});

describe("Workload host access", () => {
  const base = {
    namespace: "n",
    identity: { name: "agent", component: "monitoring" },
    kind: "DaemonSet" as const,
    replicas: 1,
    containers: [
      {
        name: "agent",
        image: "docker.io/x/agent:1.0.0",
        resources: sizes,
        livenessProbe: { tcpSocket: { port: 1 } },
        readinessProbe: { tcpSocket: { port: 1 } },
      },
    ],
  };
  test("a host path without an exemption is refused before anything is created", async () => {
    await expectRejectedBeforeCreating(
      () =>
        new Workload("agent", {
          ...base,
          host: {
            paths: [{ name: "log", path: "/var/log", mountPath: "/var/log", readOnly: true }],
          },
        }),
      /host.paths needs an explicit exemption: list "no-host-path"/,
    );
  });
  test("a root container without a run-as-non-root exemption is refused before anything is created", async () => {
    await expectRejectedBeforeCreating(
      () =>
        new Workload("agent", {
          ...base,
          containers: [{ ...base.containers[0]!, runAsRoot: true }],
          exemptions: { policies: ["no-host-path"], reason: "reads logs" },
        }),
      /runAsRoot needs an explicit exemption: list "run-as-non-root"/,
    );
  });
});

describe("cronMaxGapHours", () => {
  test("daily, weekly and every-15-minutes schedules", () => {
    expect(cronMaxGapHours("0 3 * * *")).toBe(24);
    expect(cronMaxGapHours("30 4 * * 0")).toBe(168);
    expect(cronMaxGapHours("*/15 * * * *")).toBe(0.25);
  });
  test("any once-a-day schedule has a 24-hour gap", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 59 }), fc.integer({ min: 0, max: 23 }), (m, h) => {
        expect(cronMaxGapHours(`${m} ${h} * * *`)).toBe(24);
      }),
      { numRuns: 20 },
    );
  });
  test("a malformed field is refused with the field named", () => {
    expect(() => cronMaxGapHours("61 * * * *")).toThrow(/cron field "61"/);
  });
});

describe("monitoringQuotas", () => {
  test("the node agents' quota grows with the nodes (plus the pod being replaced), the monitoring namespace's does not; each part counts two pods", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 20 }), fc.integer({ min: 1, max: 64 }), (nodes, mi) => {
        const sizes = {
          ...MONITORING_DEFAULTS,
          grafana: {
            requests: { cpu: "10m", memory: `${mi}Mi` },
            limits: { cpu: "1", memory: "1Gi" },
          },
        };
        const one = monitoringQuotas(sizes, { nodes: 1, storage: ["1Gi"] });
        const many = monitoringQuotas(sizes, { nodes, storage: ["1Gi"] });
        expect(many.monitoring).toEqual(one.monitoring);
        expect(many.node.pods).toBe(2 * (nodes + 1));
        expect(2 * parseInt(many.node.requestsMemory, 10)).toBe(
          (nodes + 1) * parseInt(one.node.requestsMemory, 10),
        );
        // Grafana's two pods (one surging or terminating) with the changed size.
        const base = monitoringQuotas(MONITORING_DEFAULTS, { nodes: 1, storage: ["1Gi"] });
        expect(parseInt(one.monitoring.requestsMemory, 10)).toBe(
          parseInt(base.monitoring.requestsMemory, 10) - 2 * 96 + 2 * mi,
        );
      }),
    );
  });

  test("rejects a node count below one, naming it", () => {
    expect(() => monitoringQuotas(MONITORING_DEFAULTS, { nodes: 0, storage: [] })).toThrow(
      /nodes must be a whole number >= 1 \(got 0\)/,
    );
  });
});
