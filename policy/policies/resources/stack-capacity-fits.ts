import { K8sObject, replicaRange, surgePods, workloadOf } from "../../lib/k8s";
import { stackPolicy } from "../../lib/define";
import {
  eligibleNodes,
  NodeSpec,
  Placement,
  PodDemand,
  placeAll,
  podsOf,
  quantityOf,
} from "../../lib/placement";

interface CapacityConfig {
  nodes?: NodeSpec[];
  /** Kept back on every node for the OS, K3s and the kubelet. */
  reservedPerNode?: { cpu: string; memory: string };
}

/**
 * Pods a workload has at its peak: Deployments and StatefulSets at the HorizontalPodAutoscaler's
 * maximum (else their replicas) plus the pods a rolling update adds on top; Jobs and CronJobs their
 * parallelism (counted as if they ran while everything else does).
 */
function peakPods(
  r: { kind: string; type: string; props: K8sObject },
  w: NonNullable<ReturnType<typeof workloadOf>>,
  all: readonly { kind: string; props: K8sObject }[],
): number {
  if (w.kind === "Job" || w.kind === "CronJob") {
    const spec = w.kind === "CronJob" ? r.props?.spec?.jobTemplate?.spec : r.props?.spec;
    return Number(spec?.parallelism ?? 1);
  }
  const max = replicaRange(r, all)?.max ?? 1;
  return max + surgePods(r, max);
}

const fmtCpu = (millis: number) => `${Math.round(millis)}m`;
const fmtMem = (b: number) => `${Math.round(b / 2 ** 20)}Mi`;

/** What is left on a pod's eligible nodes in a placement, for the message. */
function roomLeft(placement: Placement, p: PodDemand): string {
  return placement.rooms
    .filter((r) => p.eligible.includes(r.node.name))
    .map(
      (r) =>
        `${r.node.name} (${r.node.arch}) ${fmtCpu(Math.max(0, r.alloc.cpu - r.used.cpu))} CPU, ${fmtMem(Math.max(0, r.alloc.memory - r.used.memory))}`,
    )
    .join("; ");
}

export const stackCapacityFits = stackPolicy<CapacityConfig>({
  name: "stack-capacity-fits",
  theme: "resources",
  severity: "high",
  rationale: "Pods whose requests do not fit the nodes stay Pending.",
  link: "https://kubernetes.io/docs/concepts/scheduling-eviction/kube-scheduler/#kube-scheduler-implementation",
  description:
    "Every pod at the stack's peak (DaemonSets once per eligible node; Deployments at their HorizontalPodAutoscaler maximum plus the rolling update's surge) fits on a declared node it may run on, placed largest first node by node as kube-scheduler's default scoring would place it, whichever of equally scored nodes it picks.",
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
    const reserved = {
      cpu: quantityOf(config.reservedPerNode?.cpu ?? "250m", true) ?? 0,
      memory: quantityOf(config.reservedPerNode?.memory ?? "512Mi", false) ?? 0,
    };
    const problems: { urn?: string; problem: string }[] = [];
    const pods: PodDemand[] = [];
    for (const r of subjects) {
      const w = workloadOf(r.type, r.props);
      if (!w) continue;
      if (eligibleNodes(w.pod, nodes).length === 0) {
        problems.push({
          urn: r.urn,
          problem: `${r.kind} ${r.props?.metadata?.name ?? r.name} can run on no declared node (its nodeSelector/affinity matches none)`,
        });
        continue;
      }
      pods.push(...(podsOf(r, peakPods(r, w, all), nodes) ?? []));
    }
    const result = placeAll(pods, nodes, reserved);
    const total = (who: string) => pods.filter((x) => x.who === who).length;
    // With every pick some pod is left over, or (the scheduler picks at random among equally
    // scored nodes) with some picks: report the pods left over in that placement, per workload.
    const shown = result.allFail ? result.first : result.someFail ? result.failing! : undefined;
    if (shown) {
      const unplaced = new Map<string, PodDemand[]>();
      for (const p of shown.unplaced) {
        const list = unplaced.get(p.who);
        if (list) list.push(p);
        else unplaced.set(p.who, [p]);
      }
      for (const [who, left] of unplaced) {
        const p = left[0]!;
        const each = `each requests ${fmtCpu(p.cpu)} CPU, ${fmtMem(p.memory)} memory`;
        problems.push({
          urn: p.urn,
          problem: result.allFail
            ? `${who}: ${left.length} of ${total(who)} pod(s) fit on no node (${each}; left on its eligible nodes after placing larger pods first: ${roomLeft(shown, p)})`
            : `${who}: whether all ${total(who)} pod(s) fit depends on which of equally scored nodes kube-scheduler picks (it picks at random): with some picks ${left.length} pod(s) fit on no node (${each}; left on its eligible nodes then: ${roomLeft(shown, p)})`,
        });
      }
    } else if (result.truncated) {
      problems.push({
        problem: `the stack's pods fit in each of the ${result.explored} placements followed, but equally scored nodes allow more placements than are followed (${result.explored}), so a fit is not proven`,
      });
    }
    return problems;
  },
});
