/**
 * What must fail does fail on the cluster twin, through the real components: Pod Security
 * admission, ResourceQuota admission during a rolling update, and the scheduler on hardware that
 * is too small or of the wrong architecture (the twin names the pods and says why).
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parse, stringify } from "yaml";
import { podRequests, runTwin, TwinSession } from "../../scripts/twin/lib/twin";
import { until } from "../../scripts/twin/lib/kube";
import { bytes, cpuMillis } from "../../components/lib/quantity";
import { waitForRollouts } from "../../scripts/twin/lib/apply";
import { changeImage, watchReadiness } from "../../scripts/twin/lib/scenarios";

const REPO = path.resolve(__dirname, "../..");

// Starting a control plane takes seconds, a scenario up to a minute or two.
jest.setTimeout(600_000);

describe("dev on the cluster twin refuses what it must", () => {
  let session: TwinSession;
  let ok = false;
  beforeAll(async () => {
    const r = await runTwin({
      stack: "dev",
      keep: true,
      logDir: path.join(REPO, "out/twin/dev-must-fail"),
    });
    session = r.session!;
    expect(r.problems).toEqual([]);
  });
  afterAll(async () => {
    await session?.stop(ok);
  });
  const service = (prefix: string) =>
    session.rendered.objects.find(
      (o) => o.kind === "Deployment" && String(o.metadata.name).startsWith(prefix),
    )!;

  test("a privileged pod template is rejected by Pod Security admission (restricted)", async () => {
    const d = structuredClone(service("audit-event-generator"));
    d.metadata.name = "privileged-copy";
    d.spec.selector.matchLabels = { "twin-test": "privileged" };
    d.spec.template.metadata.labels = { "twin-test": "privileged" };
    d.spec.template.spec.containers[0].securityContext = {
      privileged: true,
      allowPrivilegeEscalation: true,
    };
    await session.kube.apply(d, "twin-test");
    const problems = await waitForRollouts(session.kube, [d], 20_000, 1000);
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          message: expect.stringMatching(
            /pods "privileged-copy-[a-z0-9]+-[a-z0-9]+" is forbidden: violates PodSecurity "restricted:latest": privileged \(container "[^"]+" must not set securityContext.privileged=true\)/,
          ),
        }),
      ]),
    );
    await session.kube.request(
      "DELETE",
      `/apis/apps/v1/namespaces/${d.metadata.namespace}/deployments/privileged-copy`,
    );
  });

  test("a quota with no room for the surge pod leaves the new pod rejected and the old ones serving", async () => {
    const d = service("audit-log-analysis");
    const ns = d.metadata.namespace;
    const quotas = (await session.kube.get(`/api/v1/namespaces/${ns}/resourcequotas`))
      .items as any[];
    const q = quotas[0];
    // Shrink the quota to exactly what the running pods request: a rolling update (maxSurge 1,
    // maxUnavailable 0) needs room for one more pod.
    const pods = (await session.kube.get(`/api/v1/namespaces/${ns}/pods`)).items as any[];
    const used = pods
      .filter((p) => !["Succeeded", "Failed"].includes(p.status?.phase))
      .map(podRequests)
      .reduce((a, b) => ({ cpu: a.cpu + b.cpu, memory: a.memory + b.memory }), {
        cpu: 0,
        memory: 0,
      });
    const hard = {
      ...q.spec.hard,
      "requests.cpu": `${used.cpu}m`,
      "requests.memory": String(used.memory),
    };
    await session.kube.request(
      "PATCH",
      `/api/v1/namespaces/${ns}/resourcequotas/${q.metadata.name}`,
      { spec: { hard } },
      "application/merge-patch+json",
    );
    // The quota controller has counted exactly those pods.
    await until(
      async () => {
        const live = await session.kube.get(
          `/api/v1/namespaces/${ns}/resourcequotas/${q.metadata.name}`,
        );
        const u = live.status?.used ?? {};
        return cpuMillis(u["requests.cpu"] ?? "0") === used.cpu &&
          bytes(u["requests.memory"] ?? "0") === used.memory
          ? true
          : undefined;
      },
      20_000,
      () => "quota usage to match the running pods",
    );
    const watch = watchReadiness(session.kube);
    try {
      await changeImage(session.kube, d, `${d.spec.template.spec.containers[0].image}-next`);
      const problems = await waitForRollouts(session.kube, [d], 20_000, 2000);
      expect(problems).toEqual(
        expect.arrayContaining([
          expect.objectContaining({
            message: expect.stringMatching(
              /is forbidden: exceeded quota: [a-z0-9-]+, requested: requests\.cpu=/,
            ),
          }),
        ]),
      );
      const owner = `Deployment ${ns}/${d.metadata.name}`;
      expect(watch.minimums().get(owner)).toBe(d.spec.replicas ?? 1);
    } finally {
      watch.stop();
    }
    await session.kube.request(
      "PATCH",
      `/api/v1/namespaces/${ns}/resourcequotas/${q.metadata.name}`,
      { spec: { hard: q.spec.hard } },
      "application/merge-patch+json",
    );
    ok = true;
  });
});

test("staging on nodes of the wrong architecture leaves the amd64-pinned pods unschedulable, with the scheduler's reason", async () => {
  const r = await runTwin({
    stack: "staging",
    logDir: path.join(REPO, "out/twin/staging-wrong-arch"),
    nodes: (nodes) => nodes.map((n) => ({ ...n, arch: "arm64" })),
    timeoutMs: 30_000,
  });
  expect(r.ok).toBe(false);
  const unschedulable = r.problems.filter((p) => p.source === "kube-scheduler");
  expect(unschedulable.length).toBeGreaterThan(0);
  for (const p of unschedulable) {
    expect(p.object).toMatch(/^Pod auditflow\/audit-log-analysis-/);
    expect(p.message).toMatch(
      /0\/2 nodes are available: 2 node\(s\) didn't match Pod's node affinity\/selector/,
    );
  }
});

test("npm run twin on nodes too small for dev exits 1 and names each pending pod with the scheduler's message", () => {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "twin-small-")), "Pulumi.dev.yaml");
  const doc = parse(fs.readFileSync(path.join(REPO, "Pulumi.dev.yaml"), "utf8"));
  const cluster = doc.config["auditflow-platform:cluster"];
  cluster.nodes = cluster.nodes.map((n: any) => ({ ...n, cpu: 1, memory: "1Gi" }));
  fs.writeFileSync(file, stringify(doc));
  const r = spawnSync(
    path.join(REPO, "node_modules/.bin/tsx"),
    ["scripts/twin.ts", "--stack", "dev", "--config-file", file],
    { cwd: REPO, encoding: "utf8", timeout: 300_000 },
  );
  expect(r.stdout + r.stderr).toMatch(/did NOT come up/);
  expect(r.stdout).toMatch(
    /- Pod auditflow(-data)?\/[a-z0-9-]+ \[kube-scheduler\]: 0\/1 nodes are available: 1 Insufficient (cpu|memory)/,
  );
  expect(r.status).toBe(1);
});
