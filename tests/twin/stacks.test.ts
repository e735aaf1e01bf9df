/**
 * The cluster twin tier: each stack applied to a real Kubernetes v1.34 control plane with
 * simulated nodes shaped like its hardware; then a rolling image change and node drains, watched.
 * Needs the twin's binaries (built on first use by scripts/twin/build.sh into ~/.cache/auditflow).
 */
import { execFile } from "child_process";
import * as path from "path";
import { runTwin, TwinResult, TwinSession } from "../../scripts/twin/lib/twin";
import {
  changeImage,
  deploymentRolledOut,
  drain,
  ownerOf,
  settle,
  uncordon,
  watchReadiness,
} from "../../scripts/twin/lib/scenarios";
import { until } from "../../scripts/twin/lib/kube";

const REPO = path.resolve(__dirname, "../..");

// Starting a control plane takes seconds, a scenario up to a minute or two.
jest.setTimeout(600_000);

const report = (r: TwinResult) =>
  r.problems.map((p) => `${p.object} [${p.source}]: ${p.message}`).join("\n");

describe.each(["dev", "staging", "prod"])("stack %s on the cluster twin", (stack) => {
  let result: TwinResult;
  let session: TwinSession;
  let ok = false;

  beforeAll(async () => {
    const r = await runTwin({ stack, keep: true, logDir: path.join(REPO, "out/twin", stack) });
    result = r;
    session = r.session!;
    process.stdout.write(
      `twin ${stack}: up from nothing in ${(r.timings.upFromNothing! / 1000).toFixed(1)}s (apply ${r.timings.apply}ms, rollouts ${r.timings.rollouts}ms), peak ${Math.round(r.peakMemory / 2 ** 20)} MiB\n`,
    );
  });
  afterAll(async () => {
    await session?.stop(ok);
  });

  const workloads = () =>
    session.rendered.objects.filter((o) => ["Deployment", "StatefulSet"].includes(o.kind));
  const deployment = (prefix: string) =>
    session.rendered.objects.find(
      (o) => o.kind === "Deployment" && String(o.metadata.name).startsWith(prefix),
    )!;
  const owner = (o: any) => `${o.kind} ${o.metadata.namespace}/${o.metadata.name}`;
  /** The live replica count (an HPA, not the manifest, owns it where there is one). */
  const replicasOf = async (o: any): Promise<number> => {
    const plural = o.kind === "Deployment" ? "deployments" : "statefulsets";
    const live = await session.kube.get(
      `/apis/apps/v1/namespaces/${o.metadata.namespace}/${plural}/${o.metadata.name}`,
    );
    return live.spec.replicas ?? 1;
  };

  test("every object is accepted and every rollout completes, each pod on a node of its architecture", async () => {
    expect(report(result)).toBe("");
    const pods = (await session.kube.get("/api/v1/pods")).items as any[];
    const nodes = (await session.kube.get("/api/v1/nodes")).items as any[];
    const archOf = new Map(
      nodes.map((n) => [n.metadata.name, n.metadata.labels["kubernetes.io/arch"]]),
    );
    const running = pods.filter((p) => p.metadata.namespace.startsWith("auditflow"));
    expect(running.length).toBeGreaterThan(0);
    for (const p of running) {
      expect(p.spec.nodeName).toBeDefined();
      const want = p.spec.nodeSelector?.["kubernetes.io/arch"];
      if (want)
        expect([p.metadata.name, archOf.get(p.spec.nodeName)]).toEqual([p.metadata.name, want]);
    }
  });

  test("changing a service's image rolls out without the ready replicas ever dropping below the desired count", async () => {
    const d = deployment("audit-log-analysis");
    const want = await replicasOf(d);
    const watch = watchReadiness(session.kube);
    try {
      await until(
        async () => (watch.readyNow(owner(d)) === want ? true : undefined),
        10_000,
        () => "initial pods",
      );
      watch.resetMinimum();
      const before = watch.events();
      await changeImage(session.kube, d, `${d.spec.template.spec.containers[0].image}-next`);
      await until(
        async () =>
          (await deploymentRolledOut(session.kube, d.metadata.namespace, d.metadata.name))
            ? true
            : undefined,
        60_000,
        () => "rollout of audit-log-analysis",
      );
      // Every replaced pod produced events: the watch saw the whole rollout.
      expect(watch.events() - before).toBeGreaterThanOrEqual(4 * want);
      expect(watch.minimums().get(owner(d))).toBeGreaterThanOrEqual(want);
    } finally {
      watch.stop();
    }
    const pods = (await session.kube.get(`/api/v1/namespaces/${d.metadata.namespace}/pods`))
      .items as any[];
    const images = pods
      .filter((p) => ownerOf(p) === owner(d) && !p.metadata.deletionTimestamp)
      .map((p) => p.spec.containers[0].image);
    expect(images).toHaveLength(want);
    expect(images.every((i) => i.endsWith("-next"))).toBe(true);
  });

  test("changing the image of every monitoring workload at once rolls each out within the monitoring namespaces' quotas", async () => {
    const namespaces = ["monitoring", "monitoring-node"];
    const mon = session.rendered.objects.filter(
      (o) =>
        ["Deployment", "StatefulSet", "DaemonSet"].includes(o.kind) &&
        namespaces.includes(o.metadata.namespace),
    );
    expect(mon.map((o) => o.metadata.name).sort()).toHaveLength(7);
    for (const namespace of namespaces) {
      const quotas = (await session.kube.get(`/api/v1/namespaces/${namespace}/resourcequotas`))
        .items as any[];
      expect([namespace, quotas.length]).toEqual([namespace, 1]);
    }
    const path = (o: any) =>
      `/apis/apps/v1/namespaces/${o.metadata.namespace}/${o.kind.toLowerCase()}s/${o.metadata.name}`;
    const rolledOut = async (o: any) => {
      const live = await session.kube.get(path(o));
      const st = live.status ?? {};
      if ((st.observedGeneration ?? 0) < live.metadata.generation) return false;
      if (o.kind === "DaemonSet")
        return (
          st.updatedNumberScheduled === st.desiredNumberScheduled &&
          st.numberAvailable === st.desiredNumberScheduled
        );
      const want = live.spec.replicas ?? 1;
      return (
        st.updatedReplicas === want &&
        st.readyReplicas === want &&
        (st.replicas ?? 0) === want &&
        (o.kind === "Deployment" || st.currentRevision === st.updateRevision)
      );
    };
    for (const o of mon)
      await changeImage(session.kube, o, `${o.spec.template.spec.containers[0].image}-next`);
    await until(
      async () => {
        for (const o of mon) if (!(await rolledOut(o))) return undefined;
        return true;
      },
      180_000,
      () => "rollouts of the monitoring workloads",
    );
    // No pod creation was refused by a quota on the way (the controllers report it as events).
    const refused: string[] = [];
    for (const namespace of namespaces) {
      const events = (await session.kube.get(`/api/v1/namespaces/${namespace}/events`))
        .items as any[];
      refused.push(
        ...events
          .filter((e) => /exceeded quota|forbidden/.test(String(e.message)))
          .map((e) => `${e.involvedObject.name}: ${e.message}`),
      );
    }
    expect(refused).toEqual([]);
    const pods = (
      await Promise.all(
        namespaces.map(async (n) => (await session.kube.get(`/api/v1/namespaces/${n}/pods`)).items),
      )
    ).flat() as any[];
    const live = pods.filter((p) => !p.metadata.deletionTimestamp);
    expect(live.length).toBeGreaterThan(0);
    expect(live.filter((p) => !p.spec.containers[0].image.endsWith("-next"))).toEqual([]);
  });

  // Staging pins audit-log-analysis (2 replicas) to its only amd64 node: once one replica is
  // evicted its replacement has nowhere to go, and the PDB refuses the second eviction. A real
  // `kubectl drain` of that node waits forever; the twin shows it. The other nodes drain.
  const blockedByDesign: Record<string, string[]> = { dev: [], staging: ["stg-agent-1"], prod: [] };

  test("draining each node in turn through the eviction API keeps every replicated workload at its PDB minimum", async () => {
    const watch = watchReadiness(session.kube);
    const downtime: string[] = [];
    const belowPdb: string[] = [];
    const blocked: string[] = [];
    try {
      for (const node of session.rendered.nodes.map((n) => n.name)) {
        await settle(session.kube, session.rendered.objects, 60_000);
        watch.resetMinimum();
        const r = await drain(session.kube, node, 20_000);
        if (r.timedOut) {
          blocked.push(node);
          // Only PodDisruptionBudgets held it up.
          expect(r.refusals.length).toBeGreaterThan(0);
          for (const refusal of r.refusals)
            expect(refusal).toMatch(
              /Cannot evict pod as it would violate the pod's disruption budget/,
            );
        }
        const mins = watch.minimums();
        for (const w of workloads()) {
          const replicas = await replicasOf(w);
          const min = mins.get(owner(w)) ?? 0;
          // The PDB of a replicated workload allows one pod down (maxUnavailable 1).
          if (replicas > 1 && min < replicas - 1)
            belowPdb.push(`${owner(w)}: ${min} of ${replicas} ready while draining ${node}`);
          else if (replicas === 1 && min === 0) downtime.push(`${owner(w)} while draining ${node}`);
        }
        await uncordon(session.kube, node);
      }
      await settle(session.kube, session.rendered.objects, 60_000);
    } finally {
      watch.stop();
    }
    expect(belowPdb).toEqual([]);
    expect(blocked).toEqual(blockedByDesign[stack]);
    // Single-replica workloads have no PDB and go down while their node drains: that is what a
    // single replica means, and the twin shows which ones.
    if (downtime.length)
      process.stdout.write(`twin ${stack}: single-replica downtime: ${downtime.join("; ")}\n`);
    if (stack === "prod") {
      const replicatedServices = workloads().filter((w) => w.metadata.namespace === "auditflow");
      for (const w of replicatedServices)
        expect([owner(w), (await replicasOf(w)) > 1]).toEqual([owner(w), true]);
    }
    ok = true;
  });

  test("a drain facing a PDB that forbids every eviction gives up at its timeout instead of hanging", async () => {
    const d = deployment("event-audit-dashboard");
    // Its own PDB set to allow no disruption (a second PDB over the same pods would make the
    // eviction API refuse for another reason); dev's single replica has none, so one is added.
    const own = session.rendered.objects.find(
      (o) =>
        o.kind === "PodDisruptionBudget" &&
        o.metadata.namespace === d.metadata.namespace &&
        JSON.stringify(o.spec.selector) === JSON.stringify(d.spec.selector),
    );
    const pdb = structuredClone(
      own ?? {
        apiVersion: "policy/v1",
        kind: "PodDisruptionBudget",
        metadata: { name: "twin-forbid-all", namespace: d.metadata.namespace },
        spec: { selector: d.spec.selector },
      },
    );
    delete pdb.spec.minAvailable;
    pdb.spec.maxUnavailable = 0;
    await session.kube.apply(pdb, "pulumi-kubernetes");
    const pods = (await session.kube.get(`/api/v1/namespaces/${d.metadata.namespace}/pods`))
      .items as any[];
    const node = pods.find((p) => ownerOf(p) === owner(d))!.spec.nodeName as string;
    const t0 = Date.now();
    const out = await new Promise<{ code: number; stderr: string }>((resolve) => {
      execFile(
        session.cluster.kubectl,
        [
          "--kubeconfig",
          session.cluster.kubeconfig("deployer"),
          "drain",
          node,
          "--ignore-daemonsets",
          "--delete-emptydir-data",
          "--timeout=8s",
        ],
        (err, _stdout, stderr) => resolve({ code: err ? ((err as any).code ?? 1) : 0, stderr }),
      );
    });
    const seconds = (Date.now() - t0) / 1000;
    expect(out.code).not.toBe(0);
    expect(out.stderr).toMatch(/violate the pod's disruption budget/);
    expect(out.stderr).toMatch(/global timeout reached: 8s/);
    expect(seconds).toBeLessThan(20);
    if (own) await session.kube.apply(own, "pulumi-kubernetes");
    else
      await session.kube.request(
        "DELETE",
        `/apis/policy/v1/namespaces/${d.metadata.namespace}/poddisruptionbudgets/twin-forbid-all`,
      );
    await uncordon(session.kube, node);
  });
});
