/**
 * The whole program, per stack, under the mock runtime: in normal mode and in preview mode (where
 * computed values are unknown). Every object it emits must be compliant by construction.
 */
import { ofKind, planStack, RecordedResource } from "../helpers/program";

const STACKS = ["dev", "staging", "prod"] as const;
const WORKLOAD_KINDS = ["Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob"];

function podTemplates(
  rs: RecordedResource[],
): { owner: RecordedResource; spec: any; labels: Record<string, string> }[] {
  return rs
    .filter(
      (r) =>
        r.custom &&
        r.type.startsWith("kubernetes:") &&
        WORKLOAD_KINDS.some((k) => r.type.endsWith(`:${k}`)),
    )
    .map((owner) => {
      const spec = owner.inputs.spec as any;
      const template = owner.type.endsWith(":CronJob")
        ? spec.jobTemplate.spec.template
        : spec.template;
      return { owner, spec: template.spec, labels: template.metadata?.labels ?? {} };
    });
}

/** Whether the object carries a reasoned exemption annotation for the policy. */
function exemptFrom(r: RecordedResource, policy: string): boolean {
  const a = (r.inputs.metadata as any)?.annotations ?? {};
  return (
    String(a["policy.auditflow.dev/exempt"] ?? "")
      .split(",")
      .includes(policy) && String(a["policy.auditflow.dev/exempt-reason"] ?? "").trim() !== ""
  );
}

const matches = (selector: Record<string, string> | undefined, labels: Record<string, string>) =>
  Object.entries(selector ?? {}).every(([k, v]) => labels[k] === v);

describe.each(STACKS)("stack %s", (stack) => {
  let normal: RecordedResource[];
  let preview: RecordedResource[];
  beforeAll(async () => {
    normal = (await planStack(stack)).resources;
    preview = (await planStack(stack, { preview: true })).resources;
  });

  test("runs in normal and preview mode and registers the same resources", () => {
    expect(normal.length).toBeGreaterThan(20);
    expect(preview.map((r) => r.urn).sort()).toEqual(normal.map((r) => r.urn).sort());
  });

  test("deploys the four AuditFlow services", () => {
    const names = normal
      .filter((r) => r.type === "auditflow:apps:AuditFlowService")
      .map((r) => r.name);
    expect(names.sort()).toEqual([
      "audit-event-generator",
      "audit-log-analysis",
      "event-audit-dashboard",
      "notification-service",
    ]);
  });

  test("every container has requests, limits, both probes and the hardened security context", () => {
    const templates = podTemplates(normal);
    expect(templates.length).toBeGreaterThanOrEqual(4);
    for (const { owner, spec } of templates) {
      const where = `${owner.type} ${owner.name}`;
      // Only a workload exempt from run-as-non-root by a reasoned annotation has a root container.
      const rootAllowed = exemptFrom(owner, "run-as-non-root");
      expect([where, spec.securityContext?.runAsNonRoot]).toEqual([where, true]);
      expect([where, spec.securityContext?.seccompProfile]).toEqual([
        where,
        { type: "RuntimeDefault" },
      ]);
      for (const c of [...spec.containers, ...(spec.initContainers ?? [])]) {
        const at = `${where} container ${c.name}`;
        expect([at, Object.keys(c.resources?.requests ?? {}).sort()]).toEqual([
          at,
          ["cpu", "memory"],
        ]);
        expect([at, Object.keys(c.resources?.limits ?? {}).sort()]).toEqual([
          at,
          ["cpu", "memory"],
        ]);
        expect([at, c.securityContext]).toEqual([
          at,
          expect.objectContaining({
            allowPrivilegeEscalation: false,
            readOnlyRootFilesystem: true,
            runAsNonRoot: rootAllowed ? expect.any(Boolean) : true,
            capabilities: { drop: ["ALL"] },
          }),
        ]);
      }
      if (!owner.type.endsWith(":Job") && !owner.type.endsWith(":CronJob")) {
        for (const c of spec.containers) {
          // A probe is real when it has exactly one handler: HTTP, TCP, exec or gRPC.
          const handlers = (p: any) =>
            ["httpGet", "tcpSocket", "exec", "grpc"].filter((h) => p?.[h] !== undefined);
          expect([
            `${where} ${c.name}`,
            handlers(c.livenessProbe),
            handlers(c.readinessProbe),
          ]).toEqual([`${where} ${c.name}`, [expect.any(String)], [expect.any(String)]]);
        }
      }
    }
  });

  test("every workload has its own ServiceAccount with the token off unless it talks to the API", () => {
    const accounts = new Map(
      ofKind(normal, "ServiceAccount").map((sa) => [(sa.state.metadata as any).name, sa] as const),
    );
    for (const { owner, spec, labels } of podTemplates(normal)) {
      const sa = accounts.get(spec.serviceAccountName);
      expect([owner.name, sa !== undefined]).toEqual([owner.name, true]);
      const apiAccess = labels["auditflow.dev/api-access"] === "true";
      expect([owner.name, spec.automountServiceAccountToken]).toEqual([owner.name, apiAccess]);
    }
  });

  test("every namespace has Pod Security labels and a default-deny policy", () => {
    const namespaces = ofKind(normal, "Namespace");
    expect(namespaces.length).toBeGreaterThanOrEqual(2);
    const policies = ofKind(normal, "NetworkPolicy");
    for (const ns of namespaces) {
      const name = (ns.inputs.metadata as any).name;
      expect([
        name,
        (ns.inputs.metadata as any).labels["pod-security.kubernetes.io/enforce"],
      ]).toEqual([name, expect.stringMatching(/^(restricted|baseline|privileged)$/)]);
      const denyAll = policies.find((p) => {
        const spec = p.inputs.spec as any;
        return (
          (p.inputs.metadata as any).namespace === name &&
          Object.keys(spec.podSelector).length === 0 &&
          spec.policyTypes.includes("Ingress") &&
          spec.policyTypes.includes("Egress") &&
          !spec.ingress &&
          !spec.egress
        );
      });
      expect([name, denyAll !== undefined]).toEqual([name, true]);
    }
  });

  test("every pod is selected by a NetworkPolicy of its own, and replicated ones have a PDB", () => {
    const policies = ofKind(normal, "NetworkPolicy");
    const pdbs = ofKind(normal, "PodDisruptionBudget");
    for (const { owner, labels } of podTemplates(normal)) {
      const ns = (owner.inputs.metadata as any).namespace;
      const own = policies.some(
        (p) =>
          (p.inputs.metadata as any).namespace === ns &&
          Object.keys((p.inputs.spec as any).podSelector.matchLabels ?? {}).length > 0 &&
          matches((p.inputs.spec as any).podSelector.matchLabels, labels),
      );
      expect([owner.name, own]).toEqual([owner.name, true]);
      const replicas = (owner.inputs.spec as any).replicas ?? 1;
      if (replicas > 1) {
        const pdb = pdbs.find(
          (p) =>
            (p.inputs.metadata as any).namespace === ns &&
            matches((p.inputs.spec as any).selector.matchLabels, labels),
        );
        expect([owner.name, pdb !== undefined]).toEqual([owner.name, true]);
        expect((pdb!.inputs.spec as any).maxUnavailable).toBeGreaterThanOrEqual(1);
      }
    }
  });

  test("every pod selector in a NetworkPolicy rule for the platform's namespaces selects pods of its workloads", () => {
    const templates = podTemplates(normal);
    const nsOf = (r: RecordedResource) => (r.inputs.metadata as any).namespace;
    // Peers elsewhere (kube-dns in kube-system) select pods this program does not create.
    const own = new Set(templates.map((t) => nsOf(t.owner)));
    let checked = 0;
    for (const np of ofKind(normal, "NetworkPolicy")) {
      const spec = np.inputs.spec as any;
      const peers = [
        ...(spec.ingress ?? []).flatMap((r: any) => r.from ?? []),
        ...(spec.egress ?? []).flatMap((r: any) => r.to ?? []),
      ];
      for (const p of peers) {
        const selector = p.podSelector?.matchLabels;
        if (!selector || Object.keys(selector).length === 0) continue;
        const ns = p.namespaceSelector?.matchLabels?.["kubernetes.io/metadata.name"] ?? nsOf(np);
        if (!own.has(ns)) continue;
        const selected = templates.filter(
          (t) => nsOf(t.owner) === ns && matches(selector, t.labels),
        );
        expect({ policy: np.name, selector, selected: selected.length > 0 }).toEqual({
          policy: np.name,
          selector,
          selected: true,
        });
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(10);
  });

  test("the SSH key and the K3s join token are secrets", () => {
    const installs = normal.filter((r) => r.type === "command:remote:Command");
    expect(installs.length).toBeGreaterThan(0);
    for (const r of installs)
      expect([r.name, r.secretPaths]).toEqual([r.name, expect.arrayContaining(["connection"])]);
    // The join token reaches each node in its config file, through the install command's stdin.
    const nodeInstalls = installs.filter((r) => r.name.endsWith("-install"));
    expect(nodeInstalls.length).toBeGreaterThan(0);
    for (const r of nodeInstalls)
      expect([r.name, r.secretPaths]).toEqual([r.name, expect.arrayContaining(["stdin"])]);
  });
});

test("prod runs every stateless service with at least two replicas (or an HPA minimum of two) spread across nodes", async () => {
  const rs = (await planStack("prod")).resources;
  // Grafana and kube-state-metrics run once by design, each with a reasoned ha-replicas exemption.
  const deployments = ofKind(rs, "Deployment").filter((d) => !exemptFrom(d, "ha-replicas"));
  expect(
    ofKind(rs, "Deployment")
      .filter((d) => exemptFrom(d, "ha-replicas"))
      .map((d) => d.name)
      .sort(),
  ).toEqual(["monitoring-grafana", "monitoring-kube-state-metrics"]);
  const hpas = ofKind(rs, "HorizontalPodAutoscaler");
  expect(deployments.length).toBeGreaterThanOrEqual(4);
  for (const d of deployments) {
    const spec = d.inputs.spec as any;
    const hpa = hpas.find(
      (h) => (h.inputs.spec as any).scaleTargetRef.name === (d.inputs.metadata as any).name,
    );
    const min = hpa ? (hpa.inputs.spec as any).minReplicas : spec.replicas;
    expect([d.name, min >= 2]).toEqual([d.name, true]);
    expect([d.name, spec.template.spec.topologySpreadConstraints?.length]).toEqual([d.name, 1]);
  }
});

test("render mode targets a directory instead of installing K3s", async () => {
  const rs = (
    await planStack("dev", {
      overrides: {
        cluster: {
          provisioning: "render",
          renderDir: "/tmp/rendered",
          nodes: [
            {
              name: "pi-dev-1",
              address: "192.168.50.21",
              arch: "arm64",
              cpu: 4,
              memory: "4Gi",
              role: "server",
            },
          ],
        },
      },
    })
  ).resources;
  expect(rs.some((r) => r.type === "command:remote:Command")).toBe(false);
  const provider = rs.find((r) => r.type === "pulumi:providers:kubernetes")!;
  expect(provider.inputs.renderYamlToDirectory).toBe("/tmp/rendered");
});

test("bad configuration stops the program before any resource is created", async () => {
  let registered: RecordedResource[] | undefined;
  await expect(
    planStack("dev", {
      overrides: { environment: "qa", services: [] },
      onFailure: (r) => (registered = r),
    }),
  ).rejects.toThrow(/environment: must be one of .*\n.*services/s);
  // Only the stack itself exists when the error stops the program.
  expect(registered?.map((r) => r.type)).toEqual(["pulumi:pulumi:Stack"]);
});

test("the dev data layer fits in 768 MiB of memory limits on its 4 GiB Raspberry Pi", async () => {
  const { sizing } = await import("../../scripts/plan");
  const rs = (await planStack("dev")).resources;
  // The pre-migration backup runs for a minute per rollout, like the nightly backup CronJobs the
  // sizing leaves out: the long-running layer keeps to the budget, and with it the namespace's
  // quota (1536Mi of limits in dev) still admits the Job.
  const transient = (r: (typeof rs)[number]) => r.name.startsWith("postgres-backup-pre-");
  const data = sizing(rs.filter((r) => !transient(r))).get("auditflow-data")!;
  expect(data.mem[1]).toBeLessThanOrEqual(768 * 2 ** 20);
  expect(data.mem[1]).toBeGreaterThan(512 * 2 ** 20);
  expect(sizing(rs).get("auditflow-data")!.mem[1]).toBeLessThanOrEqual(1536 * 2 ** 20);
});

test("the services reach their data only through PgBouncer, Redis and RabbitMQ contracts", async () => {
  const rs = (await planStack("prod")).resources;
  const deployment = (name: string) =>
    rs.find((r) => r.type === "kubernetes:apps/v1:Deployment" && r.name === name)!;
  const env = (name: string) =>
    (deployment(name).inputs.spec as any).template.spec.containers[0].env.map((e: any) => e.name);
  expect(env("audit-event-generator")).toEqual(expect.arrayContaining(["AMQP_URL", "AMQP_VHOST"]));
  expect(env("audit-event-generator")).not.toContain("DATABASE_URL");
  expect(env("audit-log-analysis")).toEqual(
    expect.arrayContaining(["AMQP_URL", "DATABASE_URL", "REDIS_URL"]),
  );
  expect(env("event-audit-dashboard")).toEqual(
    expect.arrayContaining(["DATABASE_URL", "REDIS_URL"]),
  );
  expect(env("notification-service")).toEqual(expect.arrayContaining(["AMQP_URL"]));
  const dbPort = (
    deployment("audit-log-analysis").inputs.spec as any
  ).template.spec.containers[0].env.find((e: any) => e.name === "DATABASE_PORT");
  expect(dbPort.value).toBe("6432");
  // The analysis Deployment waits for its migration Job.
  expect(
    rs.some((r) => r.type === "kubernetes:batch/v1:Job" && r.name === "audit-log-analysis-migrate"),
  ).toBe(true);
});

test("two plans of the same stack are identical (no spurious diff in previews)", async () => {
  const strip = (rs: { urn: string; inputs: unknown }[]) =>
    JSON.stringify(rs.map((r) => [r.urn, r.inputs]));
  const a = (await planStack("prod")).resources;
  const b = (await planStack("prod")).resources;
  expect(strip(b)).toBe(strip(a));
});

test("prod copies backups and etcd snapshots off-site with the stack's secret key, which stays secret", async () => {
  const key = "prod-offsite-key-from-the-stack";
  const rs = (await planStack("prod", { env: { AUDITFLOW_SECRET_BACKUP_OFFSITE_SECRET_KEY: key } }))
    .resources;
  const secret = rs.find((r) => r.name === "postgres-backup-offsite")!;
  expect((secret.inputs.stringData as Record<string, string>)["secret-access-key"]).toBe(key);
  expect(secret.secretPaths).toEqual(["stringData"]);
  // The K3s servers write it into their config file (etcd snapshots): only in secret stdin.
  const serverInstalls = rs.filter((r) => /^k3s-prod-server-\d-install$/.test(r.name));
  expect(serverInstalls).toHaveLength(3);
  for (const r of serverInstalls) {
    expect(String(r.inputs.stdin)).toContain(`etcd-s3-secret-key: ${key}`);
    expect(r.secretPaths).toContain("stdin");
  }
  const elsewhere = rs
    .filter((r) => r !== secret && !serverInstalls.includes(r))
    .map((r) => JSON.stringify(r.inputs));
  expect(elsewhere.filter((text) => text.includes(key))).toEqual([]);
  const backup = rs.find((r) => r.name === "postgres-backup-backup")!;
  const env = (backup.inputs.spec as any).jobTemplate.spec.template.spec.containers[0].env;
  expect(env).toContainEqual({
    name: "OFFSITE_URL",
    value: "https://backup-nas.auditflow.internal:9000/auditflow-backups/auditflow/prod",
  });
});

test("a stack asks only for the secrets its configuration needs", async () => {
  const { loadStackFile, stackFile } = await import("../../scripts/lib/stack-config");
  const asked = (stack: string) =>
    loadStackFile(stackFile(stack), {}).placeholders.map((p) => p.key);
  expect(asked("dev")).toEqual(["sshPrivateKey", "backupVerifyIdentity", "registryPassword"]);
  expect(asked("prod")).toEqual([
    "sshPrivateKey",
    "backupVerifyIdentity",
    "backupOffsiteSecretKey",
    "registryPassword",
    "acmeDns01Secret",
    "alertmanagerSmtpPassword",
    "alertmanagerSlackApiUrl",
  ]);
  // Staging has no Slack or SMTP receiver: no Alertmanager secret is asked for.
  expect(asked("staging")).toEqual(["sshPrivateKey", "backupVerifyIdentity", "registryPassword"]);
  const dev = (await planStack("dev")).resources;
  expect(dev.some((r) => r.name === "postgres-backup-offsite")).toBe(false);
});

test("dev's monitoring asks for at most 640 MiB of memory in all, node agents counted per node", async () => {
  const { sizing } = await import("../../scripts/plan");
  const rs = (await planStack("dev")).resources;
  const table = sizing(rs, 1);
  const requested = ["monitoring", "monitoring-node"].map((ns) => table.get(ns)!.mem[0]);
  expect(requested.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(640 * 2 ** 20);
  // Two nodes run two of each node agent.
  expect(sizing(rs, 2).get("monitoring-node")!.mem[0]).toBe(
    2 * table.get("monitoring-node")!.mem[0],
  );
});

test("the monitoring namespace enforces Pod Security restricted; only the node agents' is privileged", async () => {
  const rs = (await planStack("dev")).resources;
  const level = (name: string) =>
    (
      ofKind(rs, "Namespace").find((n) => (n.inputs.metadata as any).name === name)!.inputs
        .metadata as any
    ).labels["pod-security.kubernetes.io/enforce"];
  expect([level("monitoring"), level("monitoring-node")]).toEqual(["restricted", "privileged"]);
  const agents = ofKind(rs, "DaemonSet").map((d) => (d.inputs.metadata as any).namespace);
  expect(new Set(agents)).toEqual(new Set(["monitoring-node"]));
  const privileged = rs.filter(
    (r) => (r.inputs.metadata as any)?.namespace === "monitoring-node" && /apps\/v1:/.test(r.type),
  );
  expect(privileged.map((r) => r.name).sort()).toEqual([
    "monitoring-log-agent",
    "monitoring-node-exporter",
  ]);
});
