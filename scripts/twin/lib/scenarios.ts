/**
 * Operations on a running twin that users do to real clusters: a rolling update of a service and a
 * node drain through the eviction API, with every pod's readiness watched throughout (every watch
 * event, not a sample).
 */
import { FIELD_MANAGER } from "./apply";
import { ApiError, Kube, Obj, sleep, until } from "./kube";

/** "Deployment ns/name" or "StatefulSet ns/name" of the workload a pod belongs to, if any. */
export function ownerOf(pod: Obj): string | undefined {
  const ref = (pod.metadata?.ownerReferences ?? [])[0] as Obj | undefined;
  if (!ref) return undefined;
  const ns = pod.metadata.namespace;
  if (ref.kind === "ReplicaSet") {
    const hash = pod.metadata.labels?.["pod-template-hash"];
    const name = hash ? String(ref.name).slice(0, -(hash.length + 1)) : ref.name;
    return `Deployment ${ns}/${name}`;
  }
  return `${ref.kind} ${ns}/${ref.name}`;
}

const isReady = (p: Obj) =>
  !p.metadata?.deletionTimestamp &&
  (p.status?.conditions ?? []).some((c: Obj) => c.type === "Ready" && c.status === "True");

/**
 * Watches every pod and keeps, per workload, the number of ready pods now and the lowest it has
 * been since `start` (reset with `resetMinimum`).
 */
export function watchReadiness(kube: Kube) {
  const ready = new Map<string, Set<string>>();
  const minimum = new Map<string, number>();
  const events: number[] = [0];
  const w = kube.watch("/api/v1/pods", (type, pod) => {
    events[0]!++;
    const owner = ownerOf(pod);
    if (!owner) return;
    const set = ready.get(owner) ?? new Set<string>();
    ready.set(owner, set);
    if (type !== "DELETED" && isReady(pod)) set.add(pod.metadata.uid);
    else set.delete(pod.metadata.uid);
    minimum.set(owner, Math.min(minimum.get(owner) ?? Infinity, set.size));
  });
  return {
    /** Ready pods of a workload now. */
    readyNow: (owner: string) => ready.get(owner)?.size ?? 0,
    /** Lowest ready count of each workload since the last reset. */
    minimums: () => new Map(minimum),
    resetMinimum: () => {
      minimum.clear();
      for (const [k, v] of ready) minimum.set(k, v.size);
    },
    /** Pod events seen so far. */
    events: () => events[0]!,
    stop: w.stop,
  };
}

const deploymentPath = (ns: string, name: string) =>
  `/apis/apps/v1/namespaces/${ns}/deployments/${name}`;

/** Whether a Deployment's rollout is complete (new ReplicaSet fully available, old ones gone). */
export async function deploymentRolledOut(kube: Kube, ns: string, name: string): Promise<boolean> {
  const d = await kube.get(deploymentPath(ns, name));
  const s = d.status ?? {};
  const want = d.spec?.replicas ?? 1;
  return (
    (s.observedGeneration ?? 0) >= d.metadata.generation &&
    s.updatedReplicas === want &&
    s.availableReplicas === want &&
    s.replicas === want
  );
}

/**
 * Changes the image of a Deployment's first container by server-side apply of the object as the
 * program rendered it (what `pulumi up` does after an image change).
 */
export async function changeImage(kube: Kube, deployment: Obj, image: string): Promise<void> {
  const changed = structuredClone(deployment);
  changed.spec.template.spec.containers[0].image = image;
  await kube.apply(changed, FIELD_MANAGER);
}

export interface DrainResult {
  node: string;
  evicted: string[];
  /** Eviction answers that refused (429: a PodDisruptionBudget), with the server's message. */
  refusals: string[];
  ms: number;
  /** True when the drain gave up at its deadline with pods left. */
  timedOut: boolean;
}

/**
 * Drains a node as `kubectl drain --ignore-daemonsets --delete-emptydir-data` does: cordon, then
 * evict every pod not owned by a DaemonSet through the eviction API, retrying refusals (429, a
 * PodDisruptionBudget) until `timeoutMs`, and wait until the pods are gone.
 */
export async function drain(kube: Kube, node: string, timeoutMs: number): Promise<DrainResult> {
  const t0 = Date.now();
  await kube.request(
    "PATCH",
    `/api/v1/nodes/${node}`,
    { spec: { unschedulable: true } },
    "application/strategic-merge-patch+json",
  );
  const evicted: string[] = [];
  const refusals: string[] = [];
  const deadline = t0 + timeoutMs;
  for (;;) {
    const pods = (
      await kube.get(`/api/v1/pods?fieldSelector=${encodeURIComponent(`spec.nodeName=${node}`)}`)
    ).items as Obj[];
    const mine = pods.filter(
      (p) =>
        !(p.metadata.ownerReferences ?? []).some((r: Obj) => r.kind === "DaemonSet") &&
        !["Succeeded", "Failed"].includes(p.status?.phase),
    );
    if (mine.length === 0) return { node, evicted, refusals, ms: Date.now() - t0, timedOut: false };
    if (Date.now() > deadline)
      return { node, evicted, refusals, ms: Date.now() - t0, timedOut: true };
    await Promise.all(
      mine
        .filter((p) => !p.metadata.deletionTimestamp)
        .map(async (p) => {
          const id = `${p.metadata.namespace}/${p.metadata.name}`;
          try {
            await kube.request(
              "POST",
              `/api/v1/namespaces/${p.metadata.namespace}/pods/${p.metadata.name}/eviction`,
              {
                apiVersion: "policy/v1",
                kind: "Eviction",
                metadata: { name: p.metadata.name, namespace: p.metadata.namespace },
              },
            );
            evicted.push(id);
          } catch (e) {
            if (e instanceof ApiError && e.code === 429)
              refusals.push(`${id}: ${e.status?.message}`);
            else if (!(e instanceof ApiError && e.code === 404)) throw e;
          }
        }),
    );
    await sleep(250);
  }
}

export async function uncordon(kube: Kube, node: string): Promise<void> {
  await kube.request(
    "PATCH",
    `/api/v1/nodes/${node}`,
    { spec: { unschedulable: false } },
    "application/strategic-merge-patch+json",
  );
}

/** Waits until every Deployment and StatefulSet of the rendered objects is fully ready again. */
export async function settle(kube: Kube, objects: Obj[], timeoutMs: number): Promise<void> {
  const workloads = objects.filter((o) => ["Deployment", "StatefulSet"].includes(o.kind));
  await until(
    async () => {
      for (const w of workloads) {
        const plural = w.kind === "Deployment" ? "deployments" : "statefulsets";
        const live = await kube.get(
          `/apis/apps/v1/namespaces/${w.metadata.namespace}/${plural}/${w.metadata.name}`,
        );
        if ((live.status?.readyReplicas ?? 0) !== (live.spec?.replicas ?? 1)) return undefined;
        if (w.kind === "Deployment" && (live.status?.replicas ?? 0) !== live.spec?.replicas)
          return undefined;
      }
      return true;
    },
    timeoutMs,
    () => "workloads did not become ready again",
    200,
  );
}
