import { containersOf, K8sObject, replicaRange, surgePods, workloadOf } from "../../lib/k8s";
import { parseQuantity } from "../../../shared/quantity";
import { stackPolicy } from "../../lib/define";

interface NodeSpec {
  name: string;
  arch: string;
  cpu: number;
  memory: string;
  role?: string;
}

interface CapacityConfig {
  nodes?: NodeSpec[];
  /** Kept back on every node for the OS, K3s and the kubelet. */
  reservedPerNode?: { cpu: string; memory: string };
}

/** Effective requests of one pod: the larger of the biggest init container and the app containers' sum. */
function podRequests(pod: K8sObject): { cpu: number; memory: number } {
  const of = (res: "cpu" | "memory", init: boolean) =>
    containersOf(pod)
      .filter((x) => x.init === init)
      .map((x) => parseQuantity(x.c?.resources?.requests?.[res]) ?? 0);
  const eff = (res: "cpu" | "memory") =>
    Math.max(
      Math.max(0, ...of(res, true)),
      of(res, false).reduce((a, b) => a + b, 0),
    );
  return { cpu: eff("cpu"), memory: eff("memory") };
}

/** The nodes a pod may run on, from its arch nodeSelector and hostname node affinity. */
function eligibleNodes(pod: K8sObject, nodes: NodeSpec[]): NodeSpec[] {
  const arch = pod?.nodeSelector?.["kubernetes.io/arch"];
  const terms =
    pod?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution
      ?.nodeSelectorTerms ?? [];
  const hostnames: string[] = terms.flatMap((t: K8sObject) =>
    (t?.matchExpressions ?? [])
      .filter((e: K8sObject) => e?.key === "kubernetes.io/hostname" && e?.operator === "In")
      .flatMap((e: K8sObject) => e.values ?? []),
  );
  return nodes.filter(
    (n) => (!arch || n.arch === arch) && (hostnames.length === 0 || hostnames.includes(n.name)),
  );
}

/**
 * Pods of a Deployment/StatefulSet at its peak: the HorizontalPodAutoscaler's maximum (else its
 * replicas) plus the pods a rolling update adds on top.
 */
function peakPods(
  r: { kind: string; type: string; props: K8sObject },
  all: readonly { kind: string; props: K8sObject }[],
): number {
  const max = replicaRange(r, all)?.max ?? 1;
  return max + surgePods(r, max);
}

const fmtCpu = (c: number) => `${Math.round(c * 1000)}m`;
const fmtMem = (b: number) => `${Math.round(b / 2 ** 20)}Mi`;

export const stackCapacityFits = stackPolicy<CapacityConfig>({
  name: "stack-capacity-fits",
  theme: "resources",
  severity: "high",
  rationale: "Pods whose requests do not fit the nodes stay Pending.",
  link: "https://kubernetes.io/docs/concepts/configuration/manage-resources-containers/#how-pods-with-resource-requests-are-scheduled",
  description:
    "The requests of every workload (DaemonSets times the nodes they run on; Deployments at their HorizontalPodAutoscaler maximum plus the rolling update's surge) fit the allocatable capacity the stack declares, per architecture.",
  fix: "lower requests or replicas, pin the workload to an architecture with room, or add nodes to the stack",
  equivalents: {},
  config: {
    nodes: {
      type: "array",
      items: {
        type: "object",
        properties: {
          name: { type: "string" },
          arch: { type: "string" },
          cpu: { type: "number" },
          memory: { type: "string" },
          role: { type: "string" },
        },
        required: ["name", "arch", "cpu", "memory"],
      },
      default: [],
    },
    reservedPerNode: {
      type: "object",
      properties: { cpu: { type: "string" }, memory: { type: "string" } },
      default: { cpu: "250m", memory: "512Mi" },
    },
  },
  check: (subjects, all, config) => {
    const nodes = config.nodes ?? [];
    if (nodes.length === 0) return [];
    const reservedCpu = parseQuantity(config.reservedPerNode?.cpu ?? "250m") ?? 0;
    const reservedMem = parseQuantity(config.reservedPerNode?.memory ?? "512Mi") ?? 0;
    const alloc = (n: NodeSpec) => ({
      cpu: Math.max(0, n.cpu - reservedCpu),
      memory: Math.max(0, (parseQuantity(n.memory) ?? 0) - reservedMem),
    });
    const archs = [...new Set(nodes.map((n) => n.arch))];
    const demand = new Map<string, { cpu: number; memory: number; who: string[] }>();
    const add = (key: string, cpu: number, memory: number, who: string) => {
      const d = demand.get(key) ?? { cpu: 0, memory: 0, who: [] };
      d.cpu += cpu;
      d.memory += memory;
      d.who.push(who);
      demand.set(key, d);
    };
    const problems: { urn?: string; problem: string }[] = [];
    for (const r of subjects) {
      const w = workloadOf(r.type, r.props);
      if (!w) continue;
      const eligible = eligibleNodes(w.pod, nodes);
      const who = `${r.kind} ${r.props?.metadata?.name ?? r.name}`;
      if (eligible.length === 0) {
        problems.push({
          urn: r.urn,
          problem: `${who} can run on no declared node (its nodeSelector/affinity matches none)`,
        });
        continue;
      }
      const per = podRequests(w.pod);
      const count =
        w.kind === "DaemonSet"
          ? eligible.length
          : w.kind === "Job" || w.kind === "CronJob"
            ? Number(
                (w.kind === "CronJob" ? r.props?.spec?.jobTemplate?.spec : r.props?.spec)
                  ?.parallelism ?? 1,
              )
            : peakPods(r, all);
      const podArchs = [...new Set(eligible.map((n) => n.arch))];
      const key = podArchs.length === 1 ? podArchs[0]! : "*";
      add(key, per.cpu * count, per.memory * count, who);
    }
    const capOf = (ns: NodeSpec[]) =>
      ns.map(alloc).reduce((a, b) => ({ cpu: a.cpu + b.cpu, memory: a.memory + b.memory }), {
        cpu: 0,
        memory: 0,
      });
    const check = (
      label: string,
      need: { cpu: number; memory: number },
      cap: { cpu: number; memory: number },
    ) => {
      if (need.cpu > cap.cpu + 1e-9) {
        problems.push({
          problem: `${label}: CPU requests ${fmtCpu(need.cpu)} exceed allocatable ${fmtCpu(cap.cpu)}`,
        });
      }
      if (need.memory > cap.memory) {
        problems.push({
          problem: `${label}: memory requests ${fmtMem(need.memory)} exceed allocatable ${fmtMem(cap.memory)}`,
        });
      }
    };
    for (const a of archs) {
      const d = demand.get(a);
      if (d) check(`${a} nodes`, d, capOf(nodes.filter((n) => n.arch === a)));
    }
    const total = [...demand.values()].reduce(
      (x, d) => ({ cpu: x.cpu + d.cpu, memory: x.memory + d.memory }),
      { cpu: 0, memory: 0 },
    );
    check("the whole cluster", total, capOf(nodes));
    return problems;
  },
});
