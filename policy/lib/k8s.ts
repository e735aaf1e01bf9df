/**
 * Reading Kubernetes objects out of Pulumi resource properties, whatever created them: typed
 * resources, YAML ConfigFile/ConfigGroup children and Helm chart children all carry the same
 * `kubernetes:<group>/<version>:<Kind>` type and the object in `props`.
 */

/**
 * A Kubernetes object: apiVersion/kind/metadata/spec and the rest, all optional (preview, partial
 * input, any API version). Policies read it defensively with optional chaining, so it is untyped.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type K8sObject = Record<string, any>;

export const WORKLOAD_KINDS = [
  "Deployment",
  "StatefulSet",
  "DaemonSet",
  "ReplicaSet",
  "Job",
  "CronJob",
  "Pod",
] as const;
export type WorkloadKind = (typeof WORKLOAD_KINDS)[number];

const kinds = new Map<string, string | undefined>();

/** `Deployment` for `kubernetes:apps/v1:Deployment`; undefined for anything not Kubernetes. */
export function kindOf(type: string): string | undefined {
  if (kinds.has(type)) return kinds.get(type);
  const kind = type.startsWith("kubernetes:") ? type.split(":")[2] : undefined;
  kinds.set(type, kind);
  return kind;
}

/**
 * Whether the type is a Kubernetes API object (`kubernetes:apps/v1:Deployment`), as opposed to
 * one of the provider's components (`kubernetes:yaml/v2:ConfigGroup`, `kubernetes:helm.sh/v4:Chart`).
 */
export function isApiObjectType(type: string): boolean {
  return (
    /^kubernetes:[^:/]+\/v[0-9][^:]*:/.test(type) &&
    !/^kubernetes:(yaml|helm\.sh|kustomize)\//.test(type)
  );
}

/** `apps/v1` for `kubernetes:apps/v1:Deployment`, `v1` for core. */
export function apiVersionOf(type: string): string | undefined {
  const gv = type.split(":")[1];
  if (!gv) return undefined;
  return gv.startsWith("core/") ? gv.slice(5) : gv;
}

export function isKind(type: string, ...kinds: string[]): boolean {
  const k = kindOf(type);
  return k !== undefined && kinds.includes(k);
}

export interface Workload {
  kind: WorkloadKind;
  /** The pod spec (template.spec, jobTemplate.spec.template.spec or the Pod's spec). */
  pod: K8sObject;
  /** Labels of the pod template (or the Pod). */
  podLabels: Record<string, string>;
  /** Replicas for Deployment/StatefulSet/ReplicaSet; undefined elsewhere. */
  replicas?: number;
  /** spec.selector.matchLabels where the kind has one. */
  selector?: Record<string, string>;
  /** True for pods that are expected to keep running (not Jobs or CronJobs). */
  longRunning: boolean;
}

const workloads = new WeakMap<object, Workload | null>();

/**
 * The pod-bearing part of a workload object, or undefined for other kinds. Cached per props object:
 * every policy of the pack asks for it, and props are not changed while the pack runs.
 */
export function workloadOf(type: string, props: K8sObject | undefined): Workload | undefined {
  if (!props || typeof props !== "object") return undefined;
  const hit = workloads.get(props);
  if (hit !== undefined) return hit ?? undefined;
  const w = readWorkload(type, props);
  workloads.set(props, w ?? null);
  return w;
}

function readWorkload(type: string, props: K8sObject): Workload | undefined {
  const kind = kindOf(type) as WorkloadKind | undefined;
  if (!kind || !(WORKLOAD_KINDS as readonly string[]).includes(kind)) return undefined;
  const spec = props.spec ?? {};
  if (kind === "Pod") {
    return { kind, pod: spec, podLabels: props.metadata?.labels ?? {}, longRunning: true };
  }
  const template = kind === "CronJob" ? spec.jobTemplate?.spec?.template : spec.template;
  return {
    kind,
    pod: template?.spec ?? {},
    podLabels: template?.metadata?.labels ?? {},
    replicas: ["Deployment", "StatefulSet", "ReplicaSet"].includes(kind)
      ? (spec.replicas ?? 1)
      : undefined,
    selector: spec.selector?.matchLabels,
    longRunning: !["Job", "CronJob"].includes(kind),
  };
}

export interface ContainerRef {
  c: K8sObject;
  init: boolean;
  /** `container "app"` or `init container "migrate"`, for messages. */
  label: string;
}

/** Every container of a pod spec, init containers included. */
export function containersOf(pod: K8sObject): ContainerRef[] {
  const list = (xs: unknown, init: boolean): ContainerRef[] =>
    Array.isArray(xs)
      ? xs.map((c: K8sObject) => ({
          c,
          init,
          label: `${init ? "init container" : "container"} "${c?.name ?? "?"}"`,
        }))
      : [];
  return [...list(pod.initContainers, true), ...list(pod.containers, false)];
}

export function namespaceOf(props: K8sObject | undefined): string | undefined {
  return props?.metadata?.namespace;
}

export function nameOf(props: K8sObject | undefined, fallback: string): string {
  return props?.metadata?.name ?? fallback;
}

/** True when every label of the selector is on the object (an empty selector matches everything). */
export function selects(
  selector: Record<string, string> | undefined,
  labels: Record<string, string>,
): boolean {
  return Object.entries(selector ?? {}).every(([k, v]) => labels?.[k] === v);
}

/** The replica range a HorizontalPodAutoscaler gives its target. */
export interface ReplicaRange {
  min: number;
  max: number;
  /** `HorizontalPodAutoscaler <name>`, for messages. */
  by: string;
}

const rangesOf = new WeakMap<object, Map<string, ReplicaRange>>();

/**
 * The HorizontalPodAutoscalers of a stack, keyed by the `namespace/Kind/name` of their target.
 * `all` must be the array the policy engine handed over (the result is cached per array).
 */
function autoscaled(all: readonly { kind: string; props: K8sObject }[]): Map<string, ReplicaRange> {
  const hit = rangesOf.get(all);
  if (hit) return hit;
  const map = new Map<string, ReplicaRange>();
  for (const r of all) {
    if (r.kind !== "HorizontalPodAutoscaler") continue;
    const spec = r.props?.spec;
    const ref = spec?.scaleTargetRef;
    if (typeof ref?.name !== "string" || typeof spec?.maxReplicas !== "number") continue;
    const ns = namespaceOf(r.props);
    map.set(`${ns}/${ref.kind}/${ref.name}`, {
      min: typeof spec.minReplicas === "number" ? spec.minReplicas : 1,
      max: spec.maxReplicas,
      by: `HorizontalPodAutoscaler ${r.props?.metadata?.name ?? "?"}`,
    });
  }
  rangesOf.set(all, map);
  return map;
}

/**
 * The replicas a Deployment or StatefulSet runs: the range of the HorizontalPodAutoscaler that
 * targets it (in `all`), else its fixed `spec.replicas` as both ends. Undefined for other kinds.
 */
export function replicaRange(
  r: { kind: string; type: string; props: K8sObject },
  all: readonly { kind: string; props: K8sObject }[],
): ReplicaRange | undefined {
  const w = workloadOf(r.type, r.props);
  if (!w || w.replicas === undefined) return undefined;
  const hpa = autoscaled(all).get(
    `${namespaceOf(r.props)}/${r.kind}/${r.props?.metadata?.name ?? ""}`,
  );
  return hpa ?? { min: w.replicas, max: w.replicas, by: "spec.replicas" };
}

/**
 * Extra pods a rolling update of a Deployment adds at most: its maxSurge (a count, or a percent of
 * `replicas` rounded up; Kubernetes defaults to 25%). 0 for other kinds.
 */
export function surgePods(r: { kind: string; props: K8sObject }, replicas: number): number {
  if (r.kind !== "Deployment") return 0;
  const strategy = r.props?.spec?.strategy;
  if (strategy?.type === "Recreate") return 0;
  const surge = strategy?.rollingUpdate?.maxSurge ?? "25%";
  if (typeof surge === "number") return surge;
  const pct = /^(\d+)%$/.exec(String(surge));
  return pct ? Math.ceil((replicas * Number(pct[1])) / 100) : 0;
}
