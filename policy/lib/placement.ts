/**
 * Places a stack's pods on its declared nodes offline the way kube-scheduler v1.34's default profile
 * does, so that `stack-capacity-fits` can say whether every pod finds a node. Written from the
 * scheduler's plugins (k8s.io/kubernetes pkg/scheduler/framework/plugins):
 *
 * - filter: the node is one the pod's `kubernetes.io/arch` nodeSelector and hostname node affinity
 *   admit, and its allocatable CPU, memory and pod count (110) minus what is placed there hold the
 *   pod's requests (NodeResourcesFit);
 * - score, summed with the default weights: NodeResourcesFit LeastAllocated (1; missing requests count
 *   as 100m CPU and 200Mi as the scheduler's "non-zero" requests), NodeResourcesBalancedAllocation
 *   (1), PodTopologySpread (2; the pod's own ScheduleAnyway constraints on the hostname, else the
 *   system defaults: maxSkew 3 per hostname over the pods of the same ReplicaSet or StatefulSet) and
 *   InterPodAffinity (2; preferred pod affinity and anti-affinity on the hostname, the incoming pod's
 *   terms and those of the pods already placed). TaintToleration, NodeAffinity and ImageLocality
 *   score every node the same on a stack's nodes (no PreferNoSchedule taints, no preferred node
 *   affinity, no images known) and are left out;
 * - the node with the highest score wins; the scheduler picks at random among nodes that tie. Where
 *   tied nodes differ (in size, in what they hold, or in which pods may use them), the model follows
 *   every choice, so it can tell "fits whatever the scheduler picks" from "fits only for some
 *   choices" (see `placeAll`).
 *
 * Not modelled (the stacks do not use them): required pod (anti-)affinity, DoNotSchedule spread
 * constraints, topology keys other than the hostname, taints, preemption, ephemeral storage and
 * extended resources. CPU is counted in millicores and memory in bytes, as the scheduler does, so
 * its integer arithmetic is reproduced exactly.
 */
import { parseQuantity } from "../../shared/quantity";
import { containersOf, K8sObject, kindOf, selects, workloadOf } from "./k8s";

/** One `cluster.nodes` entry, as the pack config declares it. */
export interface NodeSpec {
  name: string;
  arch: string;
  cpu: number;
  memory: string;
  role?: string;
}

/** The kubelet's default pod limit per node, which K3s keeps. */
export const MAX_PODS_PER_NODE = 110;
/** What the scheduler's LeastAllocated score counts for a container without a CPU/memory request. */
const DEFAULT_MILLI_CPU = 100;
const DEFAULT_MEMORY = 200 * 2 ** 20;
const MAX_SCORE = 100;
const HOSTNAME = "kubernetes.io/hostname";

/** A label selector reduced to what the model compares: pods of one owner, or matchLabels. */
type Selector = { owner: string } | { labels: Record<string, string> };

/** One pod to place. */
export interface PodDemand {
  /** "Kind name" of the workload the pod belongs to. */
  who: string;
  urn?: string;
  namespace: string;
  labels: Record<string, string>;
  /** Requests in millicores and bytes (what the fit filter and BalancedAllocation use). */
  cpu: number;
  memory: number;
  /** The same with the scheduler's defaults for missing requests (what LeastAllocated uses). */
  nonZeroCpu: number;
  nonZeroMemory: number;
  /** Names of the nodes its nodeSelector and node affinity admit. */
  eligible: string[];
  /** DaemonSet pods are placed first: the DaemonSet controller puts one on every eligible node. */
  daemon: boolean;
  /** Soft spread over hostnames (PodTopologySpread scoring). */
  spread: { selector: Selector; maxSkew: number }[];
  /** Preferred pod affinity (+weight) and anti-affinity (-weight) terms on the hostname. */
  podAffinity: { selector: Selector; weight: number }[];
}

/** A quantity in the scheduler's units: CPU in millicores (rounded), memory in bytes (rounded up). */
export const quantityOf = (q: unknown, cpu: boolean): number | undefined => {
  const v = parseQuantity(q);
  if (v === undefined) return undefined;
  return cpu ? Math.round(v * 1000) : Math.ceil(v);
};

/**
 * A pod's requests as the scheduler sums them (component-helpers' PodRequests): the app containers
 * and restartable init containers (sidecars) add up; each other init container needs its own
 * requests plus the sidecars started before it; the pod needs the largest of these. With
 * `nonZero`, a container that sets no request counts the scheduler's defaults.
 */
function requestsOf(pod: K8sObject, res: "cpu" | "memory", nonZero: boolean): number {
  const req = (c: K8sObject) =>
    quantityOf(c?.resources?.requests?.[res], res === "cpu") ??
    (nonZero ? (res === "cpu" ? DEFAULT_MILLI_CPU : DEFAULT_MEMORY) : 0);
  const refs = containersOf(pod);
  let sum = refs.filter((x) => !x.init).reduce((a, x) => a + req(x.c), 0);
  let sidecars = 0;
  let initMax = 0;
  for (const x of refs.filter((r) => r.init)) {
    const r = req(x.c);
    if (x.c?.restartPolicy === "Always") {
      sum += r;
      sidecars += r;
      initMax = Math.max(initMax, sidecars);
    } else initMax = Math.max(initMax, r + sidecars);
  }
  return Math.max(sum, initMax);
}

/** The nodes a pod may run on, from its arch nodeSelector and hostname node affinity. */
export function eligibleNodes(pod: K8sObject, nodes: readonly NodeSpec[]): NodeSpec[] {
  const arch = pod?.nodeSelector?.["kubernetes.io/arch"];
  const terms =
    pod?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution
      ?.nodeSelectorTerms ?? [];
  const hostnames: string[] = terms.flatMap((t: K8sObject) =>
    (t?.matchExpressions ?? [])
      .filter((e: K8sObject) => e?.key === HOSTNAME && e?.operator === "In")
      .flatMap((e: K8sObject) => e.values ?? []),
  );
  return nodes.filter(
    (n) => (!arch || n.arch === arch) && (hostnames.length === 0 || hostnames.includes(n.name)),
  );
}

const labelsOf = (sel: K8sObject | undefined): Record<string, string> =>
  sel?.matchLabels && typeof sel.matchLabels === "object" ? sel.matchLabels : {};

/**
 * The pods a workload asks for at its peak, each with its eligible nodes; undefined for objects
 * that are not workloads. `count` is the number of pods (DaemonSets: one per eligible node).
 */
export function podsOf(
  r: { type: string; name: string; urn?: string; props: K8sObject },
  count: number,
  nodes: readonly NodeSpec[],
): PodDemand[] | undefined {
  const w = workloadOf(r.type, r.props);
  if (!w) return undefined;
  const kind = kindOf(r.type) ?? w.kind;
  const who = `${kind} ${r.props?.metadata?.name ?? r.name}`;
  const namespace = String(r.props?.metadata?.namespace ?? "default");
  const eligible = eligibleNodes(w.pod, nodes);
  const soft = (w.pod?.topologySpreadConstraints ?? []) as K8sObject[];
  // Explicit constraints replace the system defaults (maxSkew 3 per hostname; 5 per zone, which no
  // stack node carries). The defaults select the pods of the same ReplicaSet (its selector holds
  // the pod-template-hash) or StatefulSet; Jobs and DaemonSets get none.
  const spread = soft.length
    ? soft
        .filter((c) => c?.whenUnsatisfiable === "ScheduleAnyway" && c?.topologyKey === HOSTNAME)
        .map((c) => ({
          selector: { labels: labelsOf(c.labelSelector) },
          maxSkew: Number(c.maxSkew ?? 1),
        }))
    : w.kind === "Deployment" || w.kind === "StatefulSet" || w.kind === "ReplicaSet"
      ? [{ selector: { owner: who }, maxSkew: 3 }]
      : [];
  const terms = (list: unknown, sign: number) =>
    (Array.isArray(list) ? (list as K8sObject[]) : [])
      .filter((t) => t?.podAffinityTerm?.topologyKey === HOSTNAME)
      .map((t) => ({
        selector: { labels: labelsOf(t.podAffinityTerm.labelSelector) },
        weight: sign * Number(t.weight ?? 0),
      }));
  const podAffinity = [
    ...terms(w.pod?.affinity?.podAffinity?.preferredDuringSchedulingIgnoredDuringExecution, 1),
    ...terms(w.pod?.affinity?.podAntiAffinity?.preferredDuringSchedulingIgnoredDuringExecution, -1),
  ];
  const pod: PodDemand = {
    who,
    urn: r.urn,
    namespace,
    labels: w.podLabels ?? {},
    cpu: requestsOf(w.pod, "cpu", false),
    memory: requestsOf(w.pod, "memory", false),
    nonZeroCpu: requestsOf(w.pod, "cpu", true),
    nonZeroMemory: requestsOf(w.pod, "memory", true),
    eligible: eligible.map((n) => n.name),
    daemon: w.kind === "DaemonSet",
    spread,
    podAffinity,
  };
  if (w.kind === "DaemonSet") return eligible.map((n) => ({ ...pod, eligible: [n.name] }));
  return Array.from({ length: count }, () => pod);
}

/** A declared node's size in the scheduler's units (before what K3s reserves). */
function capacityOf(n: NodeSpec): { cpu: number; memory: number } {
  return { cpu: Math.round(n.cpu * 1000), memory: quantityOf(n.memory, false) ?? 0 };
}

/**
 * The order in which pods are placed: DaemonSet pods first, then the largest pods first (by their
 * largest share of the biggest node's CPU or memory), ties by workload name. Exported so that a
 * check against the real scheduler can apply workloads in the same order.
 */
export function placementOrder(pods: PodDemand[], nodes: readonly NodeSpec[]): PodDemand[] {
  const maxCpu = Math.max(1, ...nodes.map((n) => capacityOf(n).cpu));
  const maxMem = Math.max(1, ...nodes.map((n) => capacityOf(n).memory));
  const size = (p: PodDemand) => Math.max(p.cpu / maxCpu, p.memory / maxMem);
  return [...pods].sort(
    (a, b) =>
      Number(b.daemon) - Number(a.daemon) ||
      size(b) - size(a) ||
      (a.who < b.who ? -1 : a.who > b.who ? 1 : 0),
  );
}

/** A node while pods are placed on it. */
interface Room {
  node: NodeSpec;
  alloc: { cpu: number; memory: number };
  used: { cpu: number; memory: number; nonZeroCpu: number; nonZeroMemory: number };
  pods: PodDemand[];
}

function matches(sel: Selector, p: PodDemand, namespace: string): boolean {
  if ("owner" in sel) return p.who === sel.owner;
  return p.namespace === namespace && selects(sel.labels, p.labels);
}

/** LeastAllocated: the mean over CPU and memory of the free share, each in whole percent. */
function leastAllocated(room: Room, p: PodDemand): number {
  const one = (req: number, cap: number) =>
    cap === 0 || req > cap ? 0 : Math.floor(((cap - req) * MAX_SCORE) / cap);
  const parts = [
    [room.used.nonZeroCpu + p.nonZeroCpu, room.alloc.cpu],
    [room.used.nonZeroMemory + p.nonZeroMemory, room.alloc.memory],
  ].filter(([, cap]) => cap! > 0);
  if (parts.length === 0) return 0;
  return Math.floor(parts.reduce((a, [req, cap]) => a + one(req!, cap!), 0) / parts.length);
}

/** BalancedAllocation: 100 × (1 − half the gap between the CPU and memory shares), truncated. */
function balanced(room: Room, p: PodDemand): number {
  if (p.cpu === 0 && p.memory === 0) return 0; // best-effort pods: the plugin skips them
  const fractions = [
    [room.used.cpu + p.cpu, room.alloc.cpu],
    [room.used.memory + p.memory, room.alloc.memory],
  ]
    .filter(([, cap]) => cap! > 0)
    .map(([req, cap]) => Math.min(1, req! / cap!));
  const std = fractions.length === 2 ? Math.abs((fractions[0]! - fractions[1]!) / 2) : 0;
  return Math.trunc((1 - std) * MAX_SCORE);
}

/** PodTopologySpread over the feasible nodes, normalised as the plugin does. */
function spreadScores(fits: Room[], p: PodDemand): number[] {
  if (p.spread.length === 0) return fits.map(() => 0);
  const weight = Math.log(fits.length + 2);
  const raw = fits.map((r) =>
    Math.round(
      p.spread.reduce(
        (a, c) =>
          a +
          r.pods.filter((x) => matches(c.selector, x, p.namespace)).length * weight +
          (c.maxSkew - 1),
        0,
      ),
    ),
  );
  const max = Math.max(...raw);
  const min = Math.min(...raw);
  return raw.map((s) => (max === 0 ? MAX_SCORE : Math.floor((MAX_SCORE * (max + min - s)) / max)));
}

/**
 * InterPodAffinity's preferred terms on the hostname, normalised over the feasible nodes: the
 * incoming pod's terms against the pods on each node, and each placed pod's terms against the
 * incoming pod (both directions count, as in the plugin).
 */
function affinityScores(fits: Room[], p: PodDemand, all: Room[]): number[] {
  const any = p.podAffinity.length > 0 || all.some((r) => r.pods.some((x) => x.podAffinity.length));
  if (!any) return fits.map(() => 0);
  const raw = fits.map((r) =>
    r.pods.reduce(
      (a, x) =>
        a +
        p.podAffinity.reduce(
          (s, t) => s + (matches(t.selector, x, p.namespace) ? t.weight : 0),
          0,
        ) +
        x.podAffinity.reduce((s, t) => s + (matches(t.selector, p, x.namespace) ? t.weight : 0), 0),
      0,
    ),
  );
  const max = Math.max(...raw);
  const min = Math.min(...raw);
  return raw.map((s) => (max > min ? Math.trunc(MAX_SCORE * ((s - min) / (max - min))) : 0));
}

function fitsOn(r: Room, p: PodDemand): boolean {
  return (
    r.pods.length < MAX_PODS_PER_NODE &&
    r.used.cpu + p.cpu <= r.alloc.cpu &&
    r.used.memory + p.memory <= r.alloc.memory
  );
}

/** The feasible nodes for a pod and the ones the scheduler's scoring ranks first (ties). */
function best(rooms: Room[], p: PodDemand): Room[] {
  const fits = rooms.filter((r) => p.eligible.includes(r.node.name) && fitsOn(r, p));
  if (fits.length === 0) return [];
  const spread = spreadScores(fits, p);
  const affinity = affinityScores(fits, p, rooms);
  const scores = fits.map(
    (r, i) => leastAllocated(r, p) + balanced(r, p) + 2 * spread[i]! + 2 * affinity[i]!,
  );
  const top = Math.max(...scores);
  return fits.filter((_, i) => scores[i] === top);
}

function bind(r: Room, p: PodDemand): void {
  r.used.cpu += p.cpu;
  r.used.memory += p.memory;
  r.used.nonZeroCpu += p.nonZeroCpu;
  r.used.nonZeroMemory += p.nonZeroMemory;
  r.pods.push(p);
}

const cloneRooms = (rooms: Room[]): Room[] =>
  rooms.map((r) => ({ ...r, used: { ...r.used }, pods: [...r.pods] }));

/** One way the scheduler can place the stack: the pods that found no node and what is left. */
export interface Placement {
  unplaced: PodDemand[];
  rooms: Room[];
}

export interface PlacementResult {
  /** The placement that breaks every tie by node name (the one messages describe). */
  first: Placement;
  /** A placement in which some pod finds no node, when the stack fits only for some tie-breaks. */
  failing?: Placement;
  /** Whether some / every explored tie-break leaves a pod without a node. */
  someFail: boolean;
  allFail: boolean;
  /** Distinct tie-break sequences followed. */
  explored: number;
  /** True when there were more distinct tie-breaks than `maxPlacements` and the rest were not followed. */
  truncated: boolean;
}

/**
 * Places every pod in `placementOrder`. Where the scoring ties between nodes the scheduler picks one
 * at random; tied nodes that are interchangeable (same size, same arch, same pods on them, admitted
 * by the same pods) lead to the same outcome, so one of them stands for all; otherwise every choice
 * is followed, up to `maxPlacements` complete placements.
 */
export function placeAll(
  pods: PodDemand[],
  nodes: readonly NodeSpec[],
  reserved: { cpu: number; memory: number },
  maxPlacements = 256,
): PlacementResult {
  const order = placementOrder(pods, nodes);
  const rooms: Room[] = nodes.map((node) => ({
    node,
    alloc: {
      cpu: Math.max(0, capacityOf(node).cpu - reserved.cpu),
      memory: Math.max(0, capacityOf(node).memory - reserved.memory),
    },
    used: { cpu: 0, memory: 0, nonZeroCpu: 0, nonZeroMemory: 0 },
    pods: [],
  }));
  // What a node's future depends on, before the pod at step `i` is placed: its size and use, which
  // of the pods still to place may use it, and those of its pods that a pod still to place counts
  // (its spread or affinity selectors match them, or their affinity terms match it). Nodes alike in
  // all of this are interchangeable, and so are states made of such nodes.
  const admits = new Map(
    nodes.map((n) => [n.name, order.map((p) => (p.eligible.includes(n.name) ? 1 : 0)).join("")]),
  );
  const owners = [...new Map(order.map((p) => [p.who, p])).values()];
  const counts = (q: PodDemand, x: PodDemand) =>
    q.spread.some((c) => matches(c.selector, x, q.namespace)) ||
    q.podAffinity.some((t) => matches(t.selector, x, q.namespace)) ||
    x.podAffinity.some((t) => matches(t.selector, q, x.namespace));
  const relevant: Set<string>[] = [];
  for (let i = order.length; i >= 0; i--) {
    const q = order[i];
    const set = new Set(relevant[i + 1] ?? []);
    if (q) for (const x of owners) if (counts(q, x)) set.add(x.who);
    relevant[i] = set;
  }
  const signature = (r: Room, i: number) =>
    JSON.stringify([
      r.node.arch,
      r.alloc,
      r.used,
      admits.get(r.node.name)!.slice(i),
      r.pods
        .map((p) => p.who)
        .filter((w) => relevant[i]!.has(w))
        .sort(),
    ]);
  const result: Partial<PlacementResult> & { explored: number; truncated: boolean } = {
    explored: 0,
    truncated: false,
    someFail: false,
    allFail: true,
  };
  const seen = new Set<string>();
  const walk = (from: number, state: Room[], unplaced: PodDemand[]): void => {
    for (let i = from; i < order.length; i++) {
      const p = order[i]!;
      const tied = best(state, p);
      if (tied.length === 0) {
        unplaced.push(p);
        continue;
      }
      const choices = [...new Map(tied.map((r) => [signature(r, i), r])).values()].sort((a, b) =>
        a.node.name < b.node.name ? -1 : 1,
      );
      const after = (r: Room) => {
        const copy = cloneRooms(state);
        bind(
          copy.find((x) => x.node.name === r.node.name)!,
          p,
        );
        return copy;
      };
      // Different picks often lead to the same state (the same pods on nodes of the same shape):
      // each state is followed once.
      const fresh = (next: Room[]) => {
        const key = `${i}|${next
          .map((r) => signature(r, i + 1))
          .sort()
          .join("|")}`;
        if (seen.has(key)) return false;
        seen.add(key);
        return true;
      };
      if (choices.length > 1) fresh(after(choices[0]!));
      for (const alt of choices.slice(1)) {
        // Once one pick fits and another does not, the answer is known: "it depends".
        if (result.someFail && !result.allFail) break;
        const next = after(alt);
        if (!fresh(next)) continue;
        if (result.explored + 1 >= maxPlacements) {
          result.truncated = true;
          break;
        }
        walk(i + 1, next, [...unplaced]);
      }
      bind(choices[0]!, p);
    }
    result.explored++;
    const placement = { unplaced, rooms: state };
    if (unplaced.length > 0) {
      result.someFail = true;
      result.failing ??= placement;
    } else result.allFail = false;
    // The depth-first walk finishes the name-ordered placement last.
    result.first = placement;
  };
  walk(0, rooms, []);
  return result as PlacementResult;
}
