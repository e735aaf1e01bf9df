/**
 * Applying a stack's objects to the twin the way `pulumi up` would (server-side apply, dependency
 * order, CRDs established before their custom resources) and waiting for the result the way the
 * Kubernetes provider does (Deployments and StatefulSets available, Jobs complete), collecting the
 * API server's and the scheduler's own messages for everything that does not come up.
 */
import { ApiError, Kube, Obj, sleep } from "./kube";

/** The field manager of the applies: the name Pulumi's Kubernetes provider uses. */
export const FIELD_MANAGER = "pulumi-kubernetes";

/** Apply phases in dependency order; kinds not listed are custom resources or rarer built-ins. */
const PHASES: string[][] = [
  ["Namespace"],
  ["CustomResourceDefinition"],
  [
    "PriorityClass",
    "StorageClass",
    "ClusterRole",
    "ServiceAccount",
    "ResourceQuota",
    "LimitRange",
    "ConfigMap",
    "Secret",
  ],
  ["Role", "RoleBinding", "ClusterRoleBinding"],
  [
    "Service",
    "PersistentVolumeClaim",
    "NetworkPolicy",
    "PodDisruptionBudget",
    "IngressClass",
    "Ingress",
  ],
  ["Job"],
  ["StatefulSet", "Deployment", "DaemonSet", "CronJob"],
  ["HorizontalPodAutoscaler"],
];

const phaseOf = (kind: string) => {
  const i = PHASES.findIndex((p) => p.includes(kind));
  return i < 0 ? PHASES.length : i;
};

/** Something the twin could not bring up, with the responsible component's own words. */
export interface Problem {
  /** "Kind namespace/name" */
  object: string;
  /** Which component said so: apiserver, scheduler, a controller, or the twin's rollout wait. */
  source: string;
  message: string;
}

const nameOf = (o: Obj) =>
  `${o.kind} ${o.metadata?.namespace ? `${o.metadata.namespace}/` : ""}${o.metadata?.name}`;

/** Runs `fn` over `items` with at most `limit` at once. */
async function pool<T>(items: T[], limit: number, fn: (t: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

/** Waits until every CRD is Established (or reports it), then refreshes discovery for its group. */
async function establish(kube: Kube, crds: Obj[], problems: Problem[]): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (const c of crds) {
    let established = false;
    for (;;) {
      const live = await kube.find(
        `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${c.metadata.name}`,
      );
      const cond = (live?.status?.conditions ?? []).find((x: Obj) => x.type === "Established");
      if (cond?.status === "True") {
        established = true;
        break;
      }
      if (Date.now() > deadline) {
        problems.push({
          object: nameOf(c),
          source: "apiserver",
          message: `not Established after 30s: ${cond?.message ?? "no condition"}`,
        });
        break;
      }
      await sleep(100);
    }
    // Established does not mean discovery already lists the kind: the API server publishes the
    // group's resource list a moment later, and a list read too early would be cached without it.
    if (!established) continue;
    for (const v of c.spec?.versions ?? []) {
      const apiVersion = `${c.spec.group}/${v.name}`;
      while (!(await kube.resourceFor(apiVersion, c.spec.names.kind, true))) {
        if (Date.now() > deadline) {
          problems.push({
            object: nameOf(c),
            source: "apiserver",
            message: `Established, but discovery of ${apiVersion} did not list kind ${c.spec.names.kind} after 30s`,
          });
          break;
        }
        await sleep(100);
      }
    }
  }
}

/**
 * Applies every object in dependency order; returns the rejections (each with the API server's
 * message). Objects of a phase go in parallel, phases one after the other.
 */
export async function applyAll(kube: Kube, objects: Obj[]): Promise<Problem[]> {
  const problems: Problem[] = [];
  const phases = new Map<number, Obj[]>();
  for (const o of objects) {
    const p = phaseOf(String(o.kind));
    phases.set(p, [...(phases.get(p) ?? []), o]);
  }
  for (const p of [...phases.keys()].sort((a, b) => a - b)) {
    const batch = phases.get(p)!;
    await pool(batch, 8, async (o) => {
      try {
        await kube.apply(o, FIELD_MANAGER);
      } catch (e) {
        problems.push({
          object: nameOf(o),
          source: "apiserver",
          message: e instanceof ApiError ? e.message.replace(/^[^:]*: /, "") : String(e),
        });
      }
    });
    if (PHASES[p]?.includes("CustomResourceDefinition")) await establish(kube, batch, problems);
  }
  return problems;
}

const WORKLOADS = ["Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob"];

/** Whether a workload has finished rolling out, as `pulumi up`'s await logic judges it. */
function rolledOut(kind: string, live: Obj | undefined, minReplicas = 0): boolean {
  if (!live) return false;
  const s = live.status ?? {};
  const want = live.spec?.replicas ?? 1;
  // A workload an HPA scales has rolled out once the HPA has brought it to its minimum.
  if (want < minReplicas) return false;
  const observed = (s.observedGeneration ?? 0) >= (live.metadata?.generation ?? 1);
  switch (kind) {
    case "Deployment":
      return (
        observed &&
        (s.updatedReplicas ?? 0) === want &&
        (s.availableReplicas ?? 0) === want &&
        (s.replicas ?? 0) === want
      );
    case "StatefulSet":
      return (
        observed &&
        (s.readyReplicas ?? 0) === want &&
        (s.updatedReplicas ?? 0) === want &&
        (!s.updateRevision || s.currentRevision === s.updateRevision)
      );
    case "DaemonSet":
      return (
        observed &&
        (s.numberReady ?? 0) === (s.desiredNumberScheduled ?? 0) &&
        (s.updatedNumberScheduled ?? 0) === (s.desiredNumberScheduled ?? 0)
      );
    case "Job":
      return (s.conditions ?? []).some((c: Obj) => c.type === "Complete" && c.status === "True");
    case "CronJob":
      return true;
    default:
      return true;
  }
}

/** Path of a namespaced workload of one of the WORKLOADS kinds. */
function workloadPath(o: Obj): string {
  const group = o.kind === "Job" || o.kind === "CronJob" ? "batch" : "apps";
  const plural = `${String(o.kind).toLowerCase()}s`;
  return `/apis/${group}/v1/namespaces/${o.metadata.namespace}/${plural}/${o.metadata.name}`;
}

/** What currently stops pods from coming up: unschedulable pods and refused pod creations. */
export async function blockers(kube: Kube): Promise<Problem[]> {
  const out: Problem[] = [];
  const pods = await kube.get("/api/v1/pods");
  for (const p of pods.items as Obj[]) {
    const c = (p.status?.conditions ?? []).find((x: Obj) => x.type === "PodScheduled");
    if (c?.status === "False" && c.reason === "Unschedulable") {
      out.push({
        object: nameOf({ ...p, kind: "Pod" }),
        source: "kube-scheduler",
        message: c.message,
      });
    }
  }
  const events = await kube.get("/api/v1/events?fieldSelector=type%3DWarning");
  const seen = new Set<string>();
  for (const e of events.items as Obj[]) {
    if (e.reason !== "FailedCreate") continue;
    const who = nameOf({ ...e.involvedObject, metadata: e.involvedObject });
    const key = `${who} ${e.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({
      object: who,
      source: e.source?.component ?? e.reportingComponent ?? "controller",
      message: e.message,
    });
  }
  return out;
}

/**
 * Waits until every workload of `objects` has rolled out. Stops early when the same blockers have
 * stood for `settleMs` and nothing progressed (they would not clear by waiting), or at `timeoutMs`.
 */
export async function waitForRollouts(
  kube: Kube,
  objects: Obj[],
  timeoutMs: number,
  settleMs = 4000,
): Promise<Problem[]> {
  const workloads = objects.filter((o) => WORKLOADS.includes(String(o.kind)));
  const hpaMin = new Map<string, number>();
  for (const h of objects.filter((o) => o.kind === "HorizontalPodAutoscaler")) {
    const ref = h.spec?.scaleTargetRef ?? {};
    hpaMin.set(`${ref.kind} ${h.metadata?.namespace}/${ref.name}`, h.spec?.minReplicas ?? 1);
  }
  const deadline = Date.now() + timeoutMs;
  let lastPending = -1;
  let stuckSince = Date.now();
  for (;;) {
    // Each pending workload with what this poll read of it (the report below uses the same read).
    const pending: { w: Obj; live: Obj | undefined }[] = [];
    for (const w of workloads) {
      const min = hpaMin.get(`${w.kind} ${w.metadata.namespace}/${w.metadata.name}`);
      const live = await kube.find(workloadPath(w));
      if (!rolledOut(String(w.kind), live, min)) pending.push({ w, live });
    }
    if (pending.length === 0) return [];
    const blocked = await blockers(kube);
    if (pending.length !== lastPending || blocked.length === 0) {
      lastPending = pending.length;
      stuckSince = Date.now();
    }
    const stuck = blocked.length > 0 && Date.now() - stuckSince > settleMs;
    if (stuck || Date.now() > deadline) {
      const problems = [...blocked];
      for (const { w, live } of pending) {
        const s = live?.status ?? {};
        problems.push({
          object: nameOf(w),
          source: "rollout",
          message: `not rolled out${stuck ? "" : ` after ${timeoutMs / 1000}s`}: ${
            w.kind === "Job"
              ? `succeeded ${s.succeeded ?? 0}`
              : `ready ${s.readyReplicas ?? s.numberReady ?? 0}/${live?.spec?.replicas ?? s.desiredNumberScheduled ?? "?"}`
          }`,
        });
      }
      return problems;
    }
    await sleep(200);
  }
}
