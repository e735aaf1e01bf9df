/**
 * The K3s upgrade scripts (components/cluster/k3s-drain.sh and k3s-ready.sh) run for real against
 * the cluster twin's API server: each as K3sCluster plans it (its command text and stdin, from the
 * component under Pulumi's mocks), on a Debian node root (scripts/node-root.sh, run by
 * tests/conformance/run-in-node-root.sh in the host's network namespace so it reaches the twin on
 * loopback) whose /usr/local/bin/k3s answers `k3s kubectl` with the twin's kubectl v1.34.3 and whose
 * /etc/rancher/k3s/k3s.yaml is the twin's admin kubeconfig (system:admin, as K3s writes it).
 *
 * Stack staging: stg-server-1 (arm64) and stg-agent-1 (amd64, the only node audit-log-analysis may
 * run on). kwok plays the kubelets; an upgraded kubelet is played by setting the node's
 * status.nodeInfo.kubeletVersion, as the new K3s reports it.
 */
import { execFileSync, spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import type { K3sClusterArgs } from "../../components/cluster/k3s-cluster";
import type { RecordedResource } from "../../scripts/lib/mock-run";
import { runTwin, TwinSession } from "../../scripts/twin/lib/twin";
import { ownerOf, watchReadiness } from "../../scripts/twin/lib/scenarios";
import { k3s } from "../../components/versions";

jest.setTimeout(600_000);

const REPO = path.resolve(__dirname, "../..");
const RUNNER = path.join(REPO, "tests/conformance/run-in-node-root.sh");
const FROM = k3s.version; // what the twin's nodes report
const TO = "v1.34.4+k3s1"; // the upgrade target
const NOT_READY = "stg-agent-2"; // a node the test adds, outside kwok: it never becomes Ready

const args: K3sClusterArgs = {
  nodes: [
    { name: "stg-server-1", address: "198.18.0.1", arch: "arm64", role: "server" },
    { name: "stg-agent-1", address: "198.18.0.2", arch: "amd64", role: "agent" },
    { name: NOT_READY, address: "198.18.0.3", arch: "amd64", role: "agent" },
  ],
  k3sVersion: TO,
  sshUser: "ops",
  sshPrivateKey: "test-key",
  adminCidrs: ["198.19.0.0/24"],
  installerSha256: "0".repeat(64),
  drainTimeoutSeconds: 20,
  readyTimeoutSeconds: 6,
  now: () => Date.UTC(2026, 0, 1),
};

async function plan(): Promise<Map<string, RecordedResource>> {
  let rs: RecordedResource[] = [];
  await jest.isolateModulesAsync(async () => {
    const { runProgram } = await import("../../scripts/lib/mock-run");
    const { K3sCluster } = await import("../../components/cluster/k3s-cluster");
    rs = (await runProgram({ stack: "test", program: () => new K3sCluster("k3s", args) }))
      .resources;
  });
  return new Map(rs.map((r) => [r.name, r]));
}

/** The environment line `export NAME='value'` a planned command's stdin carries. */
const envOf = (r: RecordedResource, name: string) =>
  new RegExp(`^export ${name}='([^']*)'$`, "m").exec(String(r.inputs.stdin))?.[1];

let session: TwinSession;
let planned: Map<string, RecordedResource>;
let root: string;
let state: string;
let ok = false;

beforeAll(async () => {
  // A no-op when the root is cached (CI builds it for the conformance tier first).
  root = execFileSync("bash", [path.join(REPO, "scripts/node-root.sh")], { encoding: "utf8" })
    .trim()
    .split("\n")
    .pop()!;
  planned = await plan();
  const r = await runTwin({
    stack: "staging",
    keep: true,
    logDir: path.join(REPO, "out/twin/staging-upgrade-scripts"),
  });
  session = r.session!;
  expect(r.problems).toEqual([]);
  state = fs.mkdtempSync(path.join(os.tmpdir(), "twin-node-"));
  const bin = path.join(state, "upper/usr/local/bin");
  fs.mkdirSync(bin, { recursive: true });
  fs.copyFileSync(path.join(__dirname, "fixtures/k3s-kubectl-stand-in.sh"), path.join(bin, "k3s"));
  fs.chmodSync(path.join(bin, "k3s"), 0o755);
  fs.copyFileSync(session.cluster.kubectl, path.join(bin, "kubectl"));
  fs.chmodSync(path.join(bin, "kubectl"), 0o755);
  const etc = path.join(state, "upper/etc/rancher/k3s");
  fs.mkdirSync(etc, { recursive: true });
  fs.copyFileSync(session.cluster.kubeconfig("deployer"), path.join(etc, "k3s.yaml"));
  // As on an installed node, its host name resolves (sudo looks it up; the root shares this
  // machine's UTS namespace).
  fs.writeFileSync(
    path.join(state, "upper/etc/hosts"),
    `127.0.0.1 localhost\n127.0.1.1 ${os.hostname()}\n`,
  );
});

afterAll(async () => {
  await session?.stop(ok);
  if (state) fs.rmSync(state, { recursive: true, force: true });
});

/** Runs a planned command on the node root as Pulumi would over SSH: its text, its stdin. */
function run(name: string): Promise<{ code: number | null; out: string; err: string; ms: number }> {
  const r = planned.get(name)!;
  const t0 = Date.now();
  return new Promise((resolve) => {
    const p = spawn("bash", [RUNNER, root, state, "-", String(r.inputs.create)]);
    let out = "";
    let err = "";
    p.stdout.on("data", (d) => (out += d));
    p.stderr.on("data", (d) => (err += d));
    p.on("close", (code) => resolve({ code, out, err, ms: Date.now() - t0 }));
    p.stdin.end(String(r.inputs.stdin));
  });
}

const node = (name: string) => session.kube.get(`/api/v1/nodes/${name}`);
const setStatus = (name: string, status: object) =>
  session.kube.request(
    "PATCH",
    `/api/v1/nodes/${name}/status`,
    { status },
    "application/merge-patch+json",
  );
const podsOn = async (name: string) =>
  (
    (
      await session.kube.get(
        `/api/v1/pods?fieldSelector=${encodeURIComponent(`spec.nodeName=${name}`)}`,
      )
    ).items as any[]
  ).filter((p) => !["Succeeded", "Failed"].includes(p.status?.phase));

test("the planned drain and ready commands run as root on the first server with the target version", () => {
  for (const n of args.nodes)
    for (const step of ["drain", "ready"]) {
      const r = planned.get(`k3s-${n.name}-${step}`)!;
      expect(r.inputs.create).toBe("sudo -n bash -s");
      expect((r.inputs.connection as { host: string }).host).toBe("198.18.0.1");
      expect(envOf(r, "NODE_NAME")).toBe(n.name);
      expect(envOf(r, "K3S_VERSION")).toBe(TO);
    }
});

test("k3s-drain.sh cordons stg-server-1 and evicts its pods through the API, the replicated workloads never below their PDB minimum", async () => {
  const watch = watchReadiness(session.kube);
  try {
    const r = await run("k3s-stg-server-1-drain");
    expect(r.err).not.toMatch(/error/i);
    expect(r.code).toBe(0);
    const digest = envOf(planned.get("k3s-stg-server-1-drain")!, "CONFIG_DIGEST");
    expect(r.out).toContain(
      `k3s-drain: cordoning and draining stg-server-1 (${FROM}  -> ${TO} ${digest})`,
    );
    expect(r.out).toContain("k3s-drain: stg-server-1 drained");
    expect((await node("stg-server-1")).spec.unschedulable).toBe(true);
    // Only DaemonSet pods stay (--ignore-daemonsets: the node's log agent and node exporter).
    const left = await podsOn("stg-server-1");
    expect(
      left.filter((p) => !ownerOf(p)?.startsWith("DaemonSet ")).map((p) => p.metadata.name),
    ).toEqual([]);
    expect(left.length).toBeGreaterThan(0);
    // Every workload with a PDB (maxUnavailable 1) kept all but at most one replica ready.
    const pdbs = session.rendered.objects.filter((o) => o.kind === "PodDisruptionBudget");
    expect(pdbs.length).toBeGreaterThan(0);
    for (const pdb of pdbs) {
      const w = session.rendered.objects.find(
        (o) =>
          ["Deployment", "StatefulSet"].includes(o.kind) &&
          o.metadata.namespace === pdb.metadata.namespace &&
          JSON.stringify(o.spec.selector) === JSON.stringify(pdb.spec.selector),
      )!;
      const owner = `${w.kind} ${w.metadata.namespace}/${w.metadata.name}`;
      const live = await session.kube.get(
        `/apis/apps/v1/namespaces/${w.metadata.namespace}/${w.kind.toLowerCase()}s/${w.metadata.name}`,
      );
      expect([owner, watch.minimums().get(owner)! >= live.spec.replicas - 1]).toEqual([
        owner,
        true,
      ]);
    }
  } finally {
    watch.stop();
  }
});

test("k3s-ready.sh does not accept stg-server-1 Ready on the old version: it fails after READY_TIMEOUT and leaves it cordoned", async () => {
  const r = await run("k3s-stg-server-1-ready");
  expect(r.code).toBe(1);
  expect(r.err).toBe(
    `k3s-ready: stg-server-1 is '${FROM} True' after 6s, expected '${TO} True'; left cordoned\n`,
  );
  expect(r.ms).toBeGreaterThanOrEqual(6000);
  const n = await node("stg-server-1");
  expect(n.spec.unschedulable).toBe(true);
  expect(n.metadata.annotations?.["auditflow.dev/k3s-config"]).toBeUndefined();
});

test("k3s-ready.sh accepts stg-server-1 once it reports Ready on the new version: records the configuration and uncordons it", async () => {
  const running = run("k3s-stg-server-1-ready");
  // The upgraded K3s' kubelet reports its version a moment after the script started waiting.
  await new Promise((res) => setTimeout(res, 2000));
  await setStatus("stg-server-1", { nodeInfo: { kubeletVersion: TO } });
  const r = await running;
  expect(r.err).toBe("");
  expect(r.code).toBe(0);
  expect(r.out).toBe(`k3s-ready: stg-server-1 Ready on ${TO}, uncordoned\n`);
  const n = await node("stg-server-1");
  expect(n.spec.unschedulable).toBeUndefined();
  expect(n.metadata.annotations["auditflow.dev/k3s-config"]).toBe(
    envOf(planned.get("k3s-stg-server-1-ready")!, "CONFIG_DIGEST"),
  );
});

test("k3s-ready.sh run again on the Ready, uncordoned node changes nothing and says so", async () => {
  const r = await run("k3s-stg-server-1-ready");
  expect(r.code).toBe(0);
  expect(r.out).toBe(`k3s-ready: no change (stg-server-1 Ready on ${TO}, schedulable)\n`);
  expect((await node("stg-server-1")).spec.unschedulable).toBeUndefined();
});

test("k3s-drain.sh leaves a node that already runs the target version with this configuration alone", async () => {
  const r = await run("k3s-stg-server-1-drain");
  expect(r.code).toBe(0);
  expect(r.out).toBe(
    `k3s-drain: no change (stg-server-1 already runs ${TO} with this configuration)\n`,
  );
  expect((await node("stg-server-1")).spec.unschedulable).toBeUndefined();
});

test("k3s-drain.sh fails at DRAIN_TIMEOUT when a drain would break a PDB: audit-log-analysis has no other amd64 node, and keeps one replica serving", async () => {
  const watch = watchReadiness(session.kube);
  try {
    const r = await run("k3s-stg-agent-1-drain");
    expect(r.code).not.toBe(0);
    expect(r.err).toMatch(
      /error when evicting pods\/"audit-log-analysis-[a-z0-9]+-[a-z0-9]+" -n "auditflow" \(will retry after 5s\): Cannot evict pod as it would violate the pod's disruption budget/,
    );
    expect(r.err).toMatch(/global timeout reached: 20s/);
    expect(r.out).not.toContain("stg-agent-1 drained");
    expect((await node("stg-agent-1")).spec.unschedulable).toBe(true);
    const analysis = "Deployment auditflow/audit-log-analysis";
    expect(watch.minimums().get(analysis)).toBe(1);
    const left = (await podsOn("stg-agent-1")).filter((p) => ownerOf(p) === analysis);
    expect(left).toHaveLength(1);
  } finally {
    watch.stop();
  }
});

test("k3s-ready.sh does not accept a node on the new version that is not Ready", async () => {
  // A node outside kwok's care (no kwok.x-k8s.io/node annotation): its kubelet reports the new
  // version but never Ready, as after a K3s that does not start; cordoned, as the drain left it.
  await session.kube.request("POST", "/api/v1/nodes", {
    apiVersion: "v1",
    kind: "Node",
    metadata: { name: NOT_READY, labels: { "kubernetes.io/arch": "amd64" } },
    spec: { unschedulable: true },
  });
  await setStatus(NOT_READY, {
    conditions: [{ type: "Ready", status: "False", reason: "KubeletNotReady", message: "test" }],
    nodeInfo: { kubeletVersion: TO },
  });
  const r = await run(`k3s-${NOT_READY}-ready`);
  expect(r.code).toBe(1);
  expect(r.err).toMatch(
    new RegExp(
      `^k3s-ready: ${NOT_READY} is '${TO.replace(/[.+]/g, "\\$&")} (False|Unknown)' after 6s, expected '${TO.replace(/[.+]/g, "\\$&")} True'; left cordoned\n$`,
    ),
  );
  expect((await node(NOT_READY)).spec.unschedulable).toBe(true);
  ok = true;
});
