/**
 * The capacity and architecture policies agree with the real scheduler: 50 generated stacks
 * (random nodes, workloads, requests, surge, architecture pins, spreading and image platforms) are
 * judged by the policy pack and applied to one twin, each in its own partition of nodes, in the
 * order the capacity policy places pods (DaemonSets, then largest first), each Deployment at its
 * peak (replicas plus surge). Every verdict must match what kube-scheduler did; a mismatch prints
 * the stack's seed and both sides.
 *
 * One verdict cannot be decided offline, and the policy says so: when the scoring ties between
 * nodes that are not interchangeable, kube-scheduler picks one at random (its selectHost), and for
 * some stacks that pick decides whether a later pod fits. The policy then reports that the fit
 * depends on the pick (a violation: it may not fit); the test checks that the policy followed both
 * outcomes, and the scheduler's one is then necessarily among them.
 */
import * as path from "path";
import { runPack } from "../../policy/engine/evaluate";
import { placementOrder, podsOf } from "../../policy/lib/placement";
import { buildBinaries, TwinCluster } from "../../scripts/twin/lib/cluster";
import { createNode, nodeObject } from "../../scripts/twin/lib/k3s";
import { Kube, Obj, until } from "../../scripts/twin/lib/kube";
import {
  generateStack,
  GeneratedStack,
  PARTITION_KEY,
  partitioned,
  plannedOf,
} from "../../scripts/twin/lib/generated";

const REPO = path.resolve(__dirname, "../..");

// Starting a control plane takes seconds; the 50 stacks about half a minute.
jest.setTimeout(600_000);
const STACKS = 50;
const SEED = Number(process.env.TWIN_SEED ?? 20261124);

type Fit = "fits" | "does not fit" | "depends on the scheduler's pick";
const DEPENDS = /depends on which of equally scored nodes kube-scheduler picks/;

async function policyVerdict(s: GeneratedStack) {
  const report = await runPack(plannedOf(s), {
    config: {
      all: "disabled",
      "stack-capacity-fits": {
        enforcementLevel: "mandatory",
        nodes: s.nodes,
        reservedPerNode: s.reserved,
      },
      "image-architectures": {
        enforcementLevel: "mandatory",
        architectures: [...new Set(s.nodes.map((n) => n.arch))],
      },
    },
  });
  const of = (p: string) => report.violations.filter((v) => v.policy === p);
  const capacity = of("stack-capacity-fits");
  const fit: Fit =
    capacity.length === 0
      ? "fits"
      : capacity.every((v) => DEPENDS.test(v.message))
        ? "depends on the scheduler's pick"
        : "does not fit";
  return {
    fit,
    archOk: of("image-architectures").length === 0,
    messages: report.violations.map((v) => `${v.policy}: ${v.message}`),
  };
}

/** Applies one workload and waits until each of its pods is bound or found unschedulable. */
async function applyAndSettle(kube: Kube, w: Obj): Promise<void> {
  await kube.apply(w, "twin-agreement");
  const ns = w.metadata.namespace;
  const sel = encodeURIComponent(`app.kubernetes.io/name=${w.metadata.name}`);
  await until(
    async () => {
      const plural = w.kind === "DaemonSet" ? "daemonsets" : "deployments";
      const live = await kube.get(`/apis/apps/v1/namespaces/${ns}/${plural}/${w.metadata.name}`);
      if ((live.status?.observedGeneration ?? 0) < 1) return undefined;
      const want = w.kind === "DaemonSet" ? live.status?.desiredNumberScheduled : w.spec.replicas;
      const pods = (await kube.get(`/api/v1/namespaces/${ns}/pods?labelSelector=${sel}`))
        .items as Obj[];
      if (want === undefined || pods.length < want) return undefined;
      const decided = pods.every(
        (p) =>
          p.spec.nodeName ||
          (p.status?.conditions ?? []).some(
            (c: Obj) => c.type === "PodScheduled" && c.reason === "Unschedulable",
          ),
      );
      return decided ? true : undefined;
    },
    60_000,
    () => `pods of ${ns}/${w.metadata.name} were neither bound nor found unschedulable`,
    150,
  );
}

/**
 * What the twin did with a stack: every pod placed by the scheduler (`fits`), and no pod placed or
 * placeable (a node its nodeSelector admits, as the API server selects them) on an architecture the
 * image lacks (`archOk`; the kubelet there would fail to pull it).
 */
async function twinVerdict(kube: Kube, s: GeneratedStack) {
  const pods = (await kube.get(`/api/v1/namespaces/${s.id}/pods`)).items as Obj[];
  const archOf = new Map(s.nodes.map((n) => [n.name, n.arch]));
  const detail: string[] = [];
  let fits = true;
  let archOk = true;
  for (const p of pods) {
    const c = (p.status?.conditions ?? []).find((x: Obj) => x.type === "PodScheduled");
    if (!p.spec.nodeName) {
      fits = false;
      detail.push(`${p.metadata.name} unschedulable: ${c?.message}`);
      continue;
    }
    const arch = archOf.get(p.spec.nodeName)!;
    detail.push(`${p.metadata.name} on ${p.spec.nodeName}`);
    // The kubelet would pull the image for the node's platform: a missing one fails the pod.
    if (!s.image.platforms.includes(`linux/${arch}`)) {
      archOk = false;
      detail.push(`${p.metadata.name} on ${p.spec.nodeName} (${arch}): image has no linux/${arch}`);
    }
  }
  for (const w of s.workloads) {
    const selector = Object.entries(partitioned(s, w).spec.template.spec.nodeSelector)
      .map(([k, v]) => `${k}=${v}`)
      .join(",");
    const nodes = (await kube.get(`/api/v1/nodes?labelSelector=${encodeURIComponent(selector)}`))
      .items as Obj[];
    for (const n of nodes) {
      const arch = n.metadata.labels["kubernetes.io/arch"];
      if (!s.image.platforms.includes(`linux/${arch}`)) {
        archOk = false;
        detail.push(
          `${w.kind} ${w.metadata.name} may be placed on ${n.metadata.name} (${arch}): image has no linux/${arch}`,
        );
      }
    }
  }
  for (const w of s.workloads.filter((x) => x.kind === "DaemonSet")) {
    const live = await kube.get(`/apis/apps/v1/namespaces/${s.id}/daemonsets/${w.metadata.name}`);
    if ((live.status?.desiredNumberScheduled ?? 0) === 0) {
      fits = false;
      detail.push(`DaemonSet ${w.metadata.name} runs on no node`);
    }
  }
  return { fits, archOk, detail };
}

test(`the capacity and architecture policies agree with kube-scheduler on ${STACKS} generated stacks (seed ${SEED})`, async () => {
  const stacks = Array.from({ length: STACKS }, (_, i) => generateStack(i, SEED + i));
  const cluster = await TwinCluster.start({
    bins: buildBinaries(),
    logDir: path.join(REPO, "out/twin/agreement"),
  });
  let ok = false;
  try {
    const kube = cluster.kube;
    const t0 = Date.now();
    await Promise.all(
      stacks.flatMap((s) =>
        s.nodes.map((n) => {
          const node = nodeObject(n, s.reserved, { [PARTITION_KEY]: s.id });
          node.spec.taints = [{ key: PARTITION_KEY, value: s.id, effect: "NoSchedule" }];
          return createNode(kube, node);
        }),
      ),
    );
    // A new node is tainted not-ready (NoSchedule) until kwok reports it Ready: the scheduler skips
    // it meanwhile, so every node must be Ready and carry only its partition taint before any pod.
    await until(
      async () => {
        const nodes = (await kube.get("/api/v1/nodes")).items as Obj[];
        const ready = nodes.filter(
          (n) =>
            (n.status?.conditions ?? []).some(
              (c: Obj) => c.type === "Ready" && c.status === "True",
            ) && (n.spec?.taints ?? []).every((t: Obj) => t.key === PARTITION_KEY),
        );
        return ready.length === stacks.reduce((a, s) => a + s.nodes.length, 0) ? true : undefined;
      },
      60_000,
      () => "the generated stacks' nodes did not all become Ready and untainted",
      200,
    );
    await Promise.all(
      stacks.map((s) =>
        kube.apply(
          { apiVersion: "v1", kind: "Namespace", metadata: { name: s.id } },
          "twin-agreement",
        ),
      ),
    );
    // Each stack's workloads in the capacity policy's placement order; the stacks in parallel.
    await Promise.all(
      stacks.map(async (s) => {
        const planned = plannedOf(s).slice(1);
        const pods = planned.flatMap((r) => podsOf(r, s.peak[r.name] ?? 1, s.nodes) ?? []);
        const order = [...new Set(placementOrder(pods, s.nodes).map((p) => p.who))];
        const byWho = new Map(s.workloads.map((w) => [`${w.kind} ${w.metadata.name}`, w]));
        const rest = s.workloads.filter((w) => !order.includes(`${w.kind} ${w.metadata.name}`));
        for (const w of [...order.map((o) => byWho.get(o)!), ...rest])
          await applyAndSettle(kube, partitioned(s, w));
      }),
    );
    const disagreements: string[] = [];
    const tally = { fits: 0, doesNotFit: 0, dependsOnPick: 0, archOk: 0, archMissing: 0 };
    for (const s of stacks) {
      const [policy, twin] = await Promise.all([policyVerdict(s), twinVerdict(kube, s)]);
      tally[twin.fits ? "fits" : "doesNotFit"]++;
      tally[twin.archOk ? "archOk" : "archMissing"]++;
      if (policy.fit === "depends on the scheduler's pick") tally.dependsOnPick++;
      const fitAgrees =
        policy.fit === "depends on the scheduler's pick" || (policy.fit === "fits") === twin.fits;
      if (!fitAgrees || policy.archOk !== twin.archOk) {
        disagreements.push(
          `${s.id} (seed ${s.seed}): policy ${policy.fit}, archOk=${policy.archOk}; scheduler fits=${twin.fits} archOk=${twin.archOk}\n` +
            `  nodes: ${JSON.stringify(s.nodes)}\n  policy: ${policy.messages.join(" | ") || "no violation"}\n  twin: ${twin.detail.join(" | ")}`,
        );
      }
    }
    process.stdout.write(
      `agreement: ${STACKS} stacks in ${((Date.now() - t0) / 1000).toFixed(1)}s; scheduler outcomes: ${JSON.stringify(tally)}\n`,
    );
    // Both outcomes occur, so agreement is not trivial.
    expect(tally.fits).toBeGreaterThan(0);
    expect(tally.doesNotFit).toBeGreaterThan(0);
    expect(tally.archOk).toBeGreaterThan(0);
    expect(tally.archMissing).toBeGreaterThan(0);
    expect(disagreements).toEqual([]);
    ok = true;
  } finally {
    await cluster.stop();
    if (ok) cluster.removeLogs();
  }
});
