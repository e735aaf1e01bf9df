/**
 * One twin run: render a stack with the offline plan, start the control plane, create the stack's
 * nodes, apply every object and wait for the rollouts. Used by `npm run twin`, the twin test tier
 * and the benchmark.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parse } from "yaml";
import { loadStackFile, PROJECT, stackFile } from "../../lib/stack-config";
import { bytes, cpuMillis } from "../../../components/lib/quantity";
import { applyAll, Problem, waitForRollouts } from "./apply";
import { buildBinaries, TwinCluster, TwinSetupError } from "./cluster";
import {
  chartCrds,
  createNode,
  K3S_CRDS,
  TRAEFIK_CRDS,
  LOCAL_PATH_STORAGE_CLASS,
  nodeObject,
  reservedFor,
  Reserved,
  StackNode,
  startLocalPathProvisioner,
} from "./k3s";
import { Kube, Obj } from "./kube";

const REPO = path.resolve(__dirname, "../../..");
const TSX = path.join(REPO, "node_modules/tsx/dist/cli.mjs");

/** A rendered stack: its Kubernetes objects and its nodes. */
export interface RenderedStack {
  stack: string;
  objects: Obj[];
  nodes: StackNode[];
  reserved: Reserved;
}

/** Bad input (config file, stack): exit code 2. */
export class TwinInputError extends Error {}

/**
 * Renders a stack with the offline plan (scripts/plan.ts: the real program under Pulumi's mock
 * runtime), run as its own process so that every render starts from a fresh module registry, and
 * reads back the manifests it writes.
 */
export function renderStack(stack: string, configFile?: string): RenderedStack {
  const file = configFile ?? stackFile(stack);
  let loaded;
  try {
    loaded = loadStackFile(file);
  } catch (e) {
    throw new TwinInputError((e as Error).message);
  }
  const out = fs.mkdtempSync(path.join(os.tmpdir(), "auditflow-twin-plan-"));
  try {
    const plan = spawnSync(
      process.execPath,
      [
        TSX,
        path.join(REPO, "scripts/plan.ts"),
        "--stack",
        stack,
        "--config-file",
        file,
        "--out",
        out,
        "--no-policy",
        "--format",
        "json",
      ],
      { encoding: "utf8", maxBuffer: 64 * 2 ** 20, cwd: REPO },
    );
    if (plan.status !== 0)
      throw new TwinInputError(
        `the offline plan of stack ${stack} failed (exit ${plan.status}):\n${plan.stderr.trim()}`,
      );
    const objects = fs
      .readdirSync(out, { recursive: true, encoding: "utf8" })
      .filter((f) => f.endsWith(".yaml"))
      .sort()
      .map((f) => parse(fs.readFileSync(path.join(out, f), "utf8")) as Obj);
    const cluster = JSON.parse(loaded.config[`${PROJECT}:cluster`] ?? "{}") as {
      nodes?: StackNode[];
    };
    return { stack, objects, nodes: cluster.nodes ?? [], reserved: reservedFor(stack) };
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
}

/** Per-node placement: what the scheduler put where. */
export interface NodePlacement {
  node: string;
  arch: string;
  role: string;
  pods: number;
  cpuRequests: number;
  cpuAllocatable: number;
  memoryRequests: number;
  memoryAllocatable: number;
}

/** Requests of a pod as the scheduler counts them (max of init containers and the app sum). */
export function podRequests(pod: Obj): { cpu: number; memory: number } {
  const sum = (cs: Obj[] | undefined, f: (c: Obj) => number) =>
    (cs ?? []).reduce((a, c) => a + f(c), 0);
  const max = (cs: Obj[] | undefined, f: (c: Obj) => number) => Math.max(0, ...(cs ?? []).map(f));
  const cpu = (c: Obj) => cpuMillis(String(c.resources?.requests?.cpu ?? "0"));
  const mem = (c: Obj) => bytes(String(c.resources?.requests?.memory ?? "0"));
  return {
    cpu: Math.max(sum(pod.spec?.containers, cpu), max(pod.spec?.initContainers, cpu)),
    memory: Math.max(sum(pod.spec?.containers, mem), max(pod.spec?.initContainers, mem)),
  };
}

export async function placement(kube: Kube, nodes: StackNode[]): Promise<NodePlacement[]> {
  const [liveNodes, pods] = await Promise.all([
    kube.get("/api/v1/nodes"),
    kube.get("/api/v1/pods"),
  ]);
  return nodes.map((n) => {
    const live = (liveNodes.items as Obj[]).find((x) => x.metadata.name === n.name);
    const mine = (pods.items as Obj[]).filter(
      (p) => p.spec?.nodeName === n.name && !["Succeeded", "Failed"].includes(p.status?.phase),
    );
    const req = mine
      .map(podRequests)
      .reduce((a, b) => ({ cpu: a.cpu + b.cpu, memory: a.memory + b.memory }), {
        cpu: 0,
        memory: 0,
      });
    return {
      node: n.name,
      arch: live?.metadata?.labels?.["kubernetes.io/arch"] ?? n.arch,
      role: n.role,
      pods: mine.length,
      cpuRequests: req.cpu,
      cpuAllocatable: cpuMillis(String(live?.status?.allocatable?.cpu ?? "0")),
      memoryRequests: req.memory,
      memoryAllocatable: bytes(String(live?.status?.allocatable?.memory ?? "0")),
    };
  });
}

export function placementTable(rows: NodePlacement[]): string {
  const mi = (b: number) => `${Math.round(b / 2 ** 20)}Mi`;
  const lines = [
    `${"node".padEnd(20)} ${"arch".padEnd(6)} ${"role".padEnd(7)} ${"pods".padStart(4)}  ${"CPU requests/allocatable".padEnd(26)} memory requests/allocatable`,
  ];
  for (const r of rows) {
    const cpu = `${r.cpuRequests}m / ${r.cpuAllocatable}m (${Math.round((100 * r.cpuRequests) / Math.max(1, r.cpuAllocatable))}%)`;
    const mem = `${mi(r.memoryRequests)} / ${mi(r.memoryAllocatable)} (${Math.round((100 * r.memoryRequests) / Math.max(1, r.memoryAllocatable))}%)`;
    lines.push(
      `${r.node.padEnd(20)} ${r.arch.padEnd(6)} ${r.role.padEnd(7)} ${String(r.pods).padStart(4)}  ${cpu.padEnd(26)} ${mem}`,
    );
  }
  return lines.join("\n");
}

/**
 * Creates the stack's nodes, K3s' StorageClass and CRDs (its own and Traefik's) on a running twin,
 * and the CRDs of charts the plan installs through HelmCharts.
 */
export async function prepareK3s(
  kube: Kube,
  nodes: StackNode[],
  reserved: Reserved,
  objects: Obj[] = [],
): Promise<void> {
  await Promise.all(nodes.map((n) => createNode(kube, nodeObject(n, reserved))));
  const crds = [...K3S_CRDS, ...TRAEFIK_CRDS, ...chartCrds(objects)];
  await applyAll(kube, [LOCAL_PATH_STORAGE_CLASS, ...crds]).then((p) => {
    if (p.length)
      throw new Error(`installing K3s' own objects failed: ${p.map((x) => x.message).join("; ")}`);
  });
}

/**
 * What the twin accepts but does not run, one line per kind, so a run's output says what it did
 * not prove: charts K3s' helm-controller would install, HelmChartConfigs it would merge into its
 * bundled charts, and custom resources whose controllers (Traefik, cert-manager) do not run here and
 * whose CRDs the twin serves with open schemas (their spec is stored, not validated).
 */
export function notRunOnTwin(objects: Obj[]): string[] {
  const names = (kind: string) =>
    objects
      .filter((o) => o.kind === kind)
      .map((o) => `${o.metadata?.namespace ? `${o.metadata.namespace}/` : ""}${o.metadata?.name}`);
  const out: string[] = [];
  const charts = names("HelmChart");
  if (charts.length)
    out.push(
      `HelmChart ${charts.join(", ")}: stored, not installed (no helm-controller runs in the twin; the charts' pods do not run, only the CRDs of cert-manager are installed in their place)`,
    );
  const configs = names("HelmChartConfig");
  if (configs.length)
    out.push(
      `HelmChartConfig ${configs.join(", ")}: stored, not merged (K3s' bundled charts, e.g. Traefik, do not run in the twin)`,
    );
  const groups: [RegExp, string][] = [
    [/^traefik\.io\//, "Traefik"],
    [/^(acme\.)?cert-manager\.io\//, "cert-manager"],
  ];
  for (const [re, who] of groups) {
    const kinds = new Map<string, number>();
    for (const o of objects.filter((x) => re.test(String(x.apiVersion))))
      kinds.set(o.kind, (kinds.get(o.kind) ?? 0) + 1);
    if (kinds.size)
      out.push(
        `${[...kinds].map(([k, n]) => `${n} ${k}`).join(", ")}: accepted and stored under open-schema CRDs (spec not validated); ${who} does not run in the twin, so nothing acts on them`,
      );
  }
  return out;
}

export interface TwinResult {
  stack: string;
  ok: boolean;
  /** What the twin accepted but did not run (see notRunOnTwin). */
  notRun: string[];
  problems: Problem[];
  placement: NodePlacement[];
  timings: Record<string, number>;
  objects: number;
  /** Peak resident memory of the control plane seen during the run (bytes) and per process. */
  peakMemory: number;
  memoryByProcess: Record<string, number>;
}

export interface TwinRunOptions {
  stack: string;
  configFile?: string;
  /** Directory of logs and kubeconfigs. Defaults to out/twin/<stack>. */
  logDir?: string;
  /** Rollout timeout. Defaults to 120 s. */
  timeoutMs?: number;
  progress?: (line: string) => void;
  /**
   * Replaces the stack's nodes by others before they are created: the hardware differs from what
   * the program was planned for (too small, another architecture). Defaults to the stack's nodes.
   */
  nodes?: (declared: StackNode[]) => StackNode[];
  /** Leave the twin running; the caller stops it with `session.stop()`. Defaults to false. */
  keep?: boolean;
}

/** A running twin with the stack applied. */
export interface TwinSession {
  cluster: TwinCluster;
  kube: Kube;
  rendered: RenderedStack;
  /** Stops every process; removes the logs when `ok`. */
  stop: (ok: boolean) => Promise<void>;
}

/** Samples the control plane's total RSS every 250 ms; `read` gives the peak so far. */
function memorySampler(cluster: TwinCluster) {
  let peak = 0;
  let byProcess: Record<string, number> = {};
  const sample = () => {
    const m = cluster.memory();
    const total = Object.values(m).reduce((a, b) => a + b, 0);
    if (total > peak) {
      peak = total;
      byProcess = m;
    }
  };
  const timer = setInterval(sample, 250);
  return {
    read: () => {
      sample();
      return { peak, byProcess };
    },
    stop: () => clearInterval(timer),
  };
}

/**
 * Renders, starts, applies and waits. Throws TwinInputError (bad input) or TwinSetupError (build
 * or start failure); returns a result whose `ok` says whether everything came up.
 */
export async function runTwin(
  opts: TwinRunOptions,
): Promise<TwinResult & { session?: TwinSession }> {
  const progress = opts.progress ?? (() => undefined);
  const t0 = Date.now();
  const timings: Record<string, number> = {};
  const rendered = renderStack(opts.stack, opts.configFile);
  if (opts.nodes) rendered.nodes = opts.nodes(rendered.nodes);
  if (rendered.nodes.length === 0)
    throw new TwinInputError(
      `stack ${opts.stack}: cluster.nodes is empty; the twin needs the stack's nodes`,
    );
  timings.render = Date.now() - t0;
  const bins = buildBinaries(progress);
  timings.build = Date.now() - t0 - timings.render;
  const t1 = Date.now();
  let cluster: TwinCluster;
  try {
    cluster = await TwinCluster.start({
      bins,
      logDir: opts.logDir ?? path.join(REPO, "out/twin", opts.stack),
    });
  } catch (e) {
    throw new TwinSetupError(`starting the twin failed: ${(e as Error).message}`);
  }
  const sampler = memorySampler(cluster);
  const kube = cluster.kube;
  const provisioner = startLocalPathProvisioner(kube);
  const session: TwinSession = {
    cluster,
    kube,
    rendered,
    stop: async (ok: boolean) => {
      sampler.stop();
      provisioner.stop();
      await cluster.stop();
      if (ok) cluster.removeLogs();
    },
  };
  let ok = false;
  try {
    timings.controlPlane = Date.now() - t1;
    progress(`control plane ready in ${(timings.controlPlane / 1000).toFixed(1)}s`);
    await prepareK3s(kube, rendered.nodes, rendered.reserved, rendered.objects);
    const t2 = Date.now();
    const rejected = await applyAll(kube, rendered.objects);
    timings.apply = Date.now() - t2;
    progress(`applied ${rendered.objects.length} objects in ${(timings.apply / 1000).toFixed(1)}s`);
    const t3 = Date.now();
    const stuck = await waitForRollouts(kube, rendered.objects, opts.timeoutMs ?? 120_000);
    timings.rollouts = Date.now() - t3;
    timings.upFromNothing = Date.now() - t1;
    timings.total = Date.now() - t0;
    const problems = [...rejected, ...stuck];
    ok = problems.length === 0;
    const mem = sampler.read();
    const result: TwinResult = {
      stack: opts.stack,
      ok,
      notRun: notRunOnTwin(rendered.objects),
      problems,
      placement: await placement(kube, rendered.nodes),
      timings,
      objects: rendered.objects.length,
      peakMemory: mem.peak,
      memoryByProcess: mem.byProcess,
    };
    return opts.keep ? { ...result, session } : result;
  } catch (e) {
    // Without --keep the finally below stops it; with --keep a failed run is stopped here.
    if (opts.keep) await session.stop(false);
    throw e;
  } finally {
    if (!opts.keep) await session.stop(ok);
  }
}
