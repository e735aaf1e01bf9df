/**
 * The monitoring stack as each stack renders it: what Prometheus may reach, how it trusts the
 * kubelets, and where cert-manager's alerts and metrics come from.
 */
import { parse } from "yaml";
import { ofKind, only, planStack, RecordedResource } from "../helpers/program";
import { loadStackFile, stackFile } from "../../scripts/lib/stack-config";
import { bytes, cpuMillis } from "../../shared/quantity";

const STACKS = ["dev", "staging", "prod"] as const;
const plans = new Map<string, RecordedResource[]>();
const plan = async (stack: string) => {
  if (!plans.has(stack)) plans.set(stack, (await planStack(stack)).resources);
  return plans.get(stack)!;
};

interface PolicyRule {
  to?: { namespaceSelector?: any; podSelector?: any; ipBlock?: { cidr: string } }[];
  ports?: { port: number }[];
}

function prometheusEgress(rs: RecordedResource[]): PolicyRule[] {
  const policies = ofKind(rs, "NetworkPolicy").filter(
    (p) =>
      (p.inputs.spec as any).podSelector?.matchLabels?.["app.kubernetes.io/name"] === "prometheus",
  );
  expect(policies).toHaveLength(1);
  return (policies[0]!.inputs.spec as any).egress as PolicyRule[];
}

const namespaceOf = (peer: NonNullable<PolicyRule["to"]>[number]) =>
  peer.namespaceSelector?.matchLabels?.["kubernetes.io/metadata.name"] as string | undefined;

/** Whether some egress rule admits this namespace (or, for host-network pods, the nodes) on the port. */
function admits(egress: PolicyRule[], target: { namespace?: string; port: number }): boolean {
  return egress.some(
    (r) =>
      (r.ports ?? []).some((p) => p.port === target.port) &&
      (r.to ?? []).some((peer) =>
        target.namespace ? namespaceOf(peer) === target.namespace : peer.ipBlock !== undefined,
      ),
  );
}

/**
 * What the pods of a namespace need at their peak, computed from the rendered workloads: a
 * Deployment's replicas plus its maxSurge, a StatefulSet's replicas plus the pod it is replacing
 * (terminating pods count against a quota), a DaemonSet's pod on each node plus the one it is
 * replacing (one node at a time); their claims from the StatefulSets' volume claim templates.
 */
function peakOf(rs: RecordedResource[], namespace: string, nodes: number) {
  const peak = { requestsCpu: 0, requestsMemory: 0, limitsCpu: 0, limitsMemory: 0, pods: 0 };
  const claims = { count: 0, storage: 0 };
  for (const w of [
    ...ofKind(rs, "Deployment"),
    ...ofKind(rs, "StatefulSet"),
    ...ofKind(rs, "DaemonSet"),
  ]) {
    if ((w.inputs.metadata as any).namespace !== namespace) continue;
    const spec = w.inputs.spec as any;
    const pods = w.type.endsWith(":DaemonSet")
      ? nodes + spec.updateStrategy.rollingUpdate.maxUnavailable
      : spec.replicas + (w.type.endsWith(":Deployment") ? spec.strategy.rollingUpdate.maxSurge : 1);
    peak.pods += pods;
    for (const c of [
      ...spec.template.spec.containers,
      ...(spec.template.spec.initContainers ?? []),
    ]) {
      peak.requestsCpu += pods * cpuMillis(c.resources.requests.cpu);
      peak.requestsMemory += pods * bytes(c.resources.requests.memory);
      peak.limitsCpu += pods * cpuMillis(c.resources.limits.cpu);
      peak.limitsMemory += pods * bytes(c.resources.limits.memory);
    }
    for (const t of spec.volumeClaimTemplates ?? []) {
      claims.count += spec.replicas;
      claims.storage += spec.replicas * bytes(t.spec.resources.requests.storage);
    }
  }
  return { peak, claims };
}

function nodeAddresses(stack: string): string[] {
  const cfg = loadStackFile(stackFile(stack), {}).config;
  const cluster = JSON.parse(cfg["auditflow-platform:cluster"]!) as {
    nodes: { address: string }[];
  };
  return cluster.nodes.map((n) => n.address);
}

describe.each(STACKS)("%s", (stack) => {
  test("the monitoring namespaces' quotas hold exactly their pods at a rolling update's peak (surge and terminating pods included) and a LimitRange gives undeclared containers defaults", async () => {
    const rs = await plan(stack);
    const nodes = nodeAddresses(stack).length;
    for (const ns of ["monitoring", "monitoring-node"]) {
      const quota = ofKind(rs, "ResourceQuota").find(
        (q) => (q.state.metadata as any)?.namespace === ns,
      );
      expect([ns, quota !== undefined]).toEqual([ns, true]);
      const hard = (quota!.inputs.spec as any).hard as Record<string, string>;
      const { peak, claims } = peakOf(rs, ns, nodes);
      expect(peak.pods).toBeGreaterThan(0);
      expect({
        ns,
        requestsCpu: cpuMillis(hard["requests.cpu"]!),
        requestsMemory: bytes(hard["requests.memory"]!),
        limitsCpu: cpuMillis(hard["limits.cpu"]!),
        limitsMemory: bytes(hard["limits.memory"]!),
        pods: Number(hard.pods),
      }).toEqual({ ns, ...peak });
      if (ns === "monitoring") {
        expect([Number(hard.persistentvolumeclaims), bytes(hard["requests.storage"]!)]).toEqual([
          claims.count,
          claims.storage,
        ]);
      }
      const limits = ofKind(rs, "LimitRange").filter(
        (l) => (l.state.metadata as any)?.namespace === ns,
      );
      expect([ns, limits.length]).toEqual([ns, 1]);
    }
  });

  test("Prometheus may reach every annotated pod's metrics port in its namespace, the nodes' kubelets and node-exporter, and nothing else", async () => {
    const rs = await plan(stack);
    const egress = prometheusEgress(rs);
    // Every rule names its ports: no rule opens a whole namespace or address range.
    expect(egress.filter((r) => !r.ports || r.ports.length === 0)).toEqual([]);
    const targets = [
      ...ofKind(rs, "Deployment"),
      ...ofKind(rs, "StatefulSet"),
      ...ofKind(rs, "DaemonSet"),
    ]
      .map((w) => ({ w, t: (w.inputs.spec as any).template }))
      .filter(({ t }) => t.metadata?.annotations?.["prometheus.io/scrape"] === "true")
      .map(({ w, t }) => ({
        name: w.name,
        namespace: t.spec.hostNetwork
          ? undefined
          : ((w.inputs.metadata as any).namespace as string),
        port: Number(t.metadata.annotations["prometheus.io/port"]),
      }));
    expect(targets.length).toBeGreaterThan(8);
    expect(targets.filter((t) => !admits(egress, t))).toEqual([]);
    // The charts K3s installs annotate their pods too: Traefik in kube-system, cert-manager.
    expect(admits(egress, { namespace: "kube-system", port: 9100 })).toBe(true);
    expect(admits(egress, { namespace: "cert-manager", port: 9402 })).toBe(true);
    // Host-network targets (kubelet, node-exporter) are the stack's nodes, one /32 each.
    const blocks = egress.flatMap((r) => (r.to ?? []).flatMap((p) => p.ipBlock?.cidr ?? []));
    expect(blocks.sort()).toEqual(
      nodeAddresses(stack)
        .map((a) => `${a}/32`)
        .sort(),
    );
    const nodeRule = egress.find((r) => (r.to ?? []).some((p) => p.ipBlock))!;
    expect(nodeRule.ports!.map((p) => p.port).sort()).toEqual([10250, 9100].sort());
  });

  test("the kubelet and cAdvisor jobs verify the kubelets' certificates with the service account's CA; no job skips verification", async () => {
    const rs = await plan(stack);
    const files = only(rs, "kubernetes:core/v1:ConfigMap", "monitoring-prometheus-config").inputs
      .data as Record<string, string>;
    expect(files["prometheus.yml"]).not.toContain("insecure_skip_verify");
    const jobs = parse(files["prometheus.yml"]!).scrape_configs as any[];
    for (const name of ["kubelet", "cadvisor", "k3s-apiserver"]) {
      expect([name, jobs.find((j) => j.job_name === name).tls_config]).toEqual([
        name,
        { ca_file: "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt" },
      ]);
    }
  });

  test("cert-manager's alerts reach the rule file once, from the ingress component, and its namespace is scraped", async () => {
    const rs = await plan(stack);
    const files = only(rs, "kubernetes:core/v1:ConfigMap", "monitoring-prometheus-config").inputs
      .data as Record<string, string>;
    const alerts = (parse(files["rules.yml"]!).groups as any[]).flatMap((g) =>
      g.rules.map((r: any) => r.alert).filter(Boolean),
    );
    for (const name of ["CertificateExpiringSoon", "CertificateNotReady"]) {
      expect([name, alerts.filter((a) => a === name).length]).toEqual([name, 1]);
    }
    const pods = (parse(files["prometheus.yml"]!).scrape_configs as any[]).find(
      (j) => j.job_name === "pods",
    );
    expect(pods.kubernetes_sd_configs[0].namespaces.names).toContain("cert-manager");
    // cert-manager's controller admits the monitoring namespace on its metrics port.
    const controller = ofKind(rs, "NetworkPolicy").find(
      (p) =>
        (p.inputs.spec as any).podSelector?.matchLabels?.["app.kubernetes.io/component"] ===
        "controller",
    )!;
    expect((controller.inputs.spec as any).ingress).toEqual([
      {
        from: [
          { namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "monitoring" } } },
        ],
        ports: [{ protocol: "TCP", port: 9402 }],
      },
    ]);
  });
});
