/**
 * Issue #15's services on the cluster twin, prod stack (audit-log-analysis autoscaled 3–5 with its
 * analysis rules in a ConfigMap): a rules change applied as `pulumi up` applies it, a rolling update
 * at the HPA's maximum under the namespace's ResourceQuota and LimitRange (and its must-fail twin,
 * a quota just short of the surge pod), and a rollback to the previous digest, each watched event
 * by event.
 *
 * Every change is made the way the real tools make it: the stack is rendered again by the offline
 * plan (the real program) from a changed stack file, and what `pulumi up` would send is applied
 * with server-side apply under Pulumi's field manager. There is no metrics-server in the twin, so
 * the test sets the Deployment's scale to the HPA's maximum through the scale subresource, as the
 * HPA controller does.
 *
 * kwok removes a deleted pod 200 ms after its deletion. A kubelet keeps it terminating while the
 * preStop hook runs and the container drains, and a terminating pod still counts against the
 * ResourceQuota until its grace period is over. So that the quota sees what a real rollout makes it
 * see, the rollouts here keep every deleted pod of the service for its preStop sleep (a finalizer
 * the test removes after that many seconds): a lower bound of a real node's termination time.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parse, stringify } from "yaml";
import { FIELD_MANAGER, applyAll } from "../../scripts/twin/lib/apply";
import { ApiError, Kube, Obj, sleep, until } from "../../scripts/twin/lib/kube";
import { deploymentRolledOut, ownerOf, watchReadiness } from "../../scripts/twin/lib/scenarios";
import { podRequests, renderStack, runTwin, TwinSession } from "../../scripts/twin/lib/twin";
import { cpuMillis } from "../../components/lib/quantity";

const REPO = path.resolve(__dirname, "../..");
const STACK = "prod";
const SERVICE = "audit-log-analysis";
const NS = "auditflow";
const KEY = "auditflow-platform:services";
const REPOSITORY = "ghcr.io/auditflow/audit-log-analysis:0.4.2";
const digestImage = (c: string) => `${REPOSITORY}@sha256:${c.repeat(64)}`;
/** The image prod runs at the start (A), the next release (B), and a release never admitted (C). */
const A = digestImage("a");
const B = digestImage("b");
const C = digestImage("c");

jest.setTimeout(600_000);

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "twin-services-"));

interface ServiceEntry {
  name: string;
  image?: string;
  rules?: Obj[];
}

/** Pulumi.prod.yaml with audit-log-analysis changed by `edit`, written to a file of its own. */
function stackFileWith(name: string, edit: (s: ServiceEntry) => void): string {
  const doc = parse(fs.readFileSync(path.join(REPO, `Pulumi.${STACK}.yaml`), "utf8"));
  const entry = (doc.config[KEY] as ServiceEntry[]).find((s) => s.name === SERVICE)!;
  edit(entry);
  const file = path.join(dir, `${name}.yaml`);
  fs.writeFileSync(file, stringify(doc));
  return file;
}

const keyOf = (o: Obj) => `${o.kind} ${o.metadata.namespace ?? ""}/${o.metadata.name}`;

/** The objects of `after` that differ from `before` (or are new), by kind/namespace/name. */
function changedObjects(before: Obj[], after: Obj[]): string[] {
  const old = new Map(before.map((o) => [keyOf(o), JSON.stringify(o)]));
  return after
    .filter((o) => old.get(keyOf(o)) !== JSON.stringify(o))
    .map(keyOf)
    .sort();
}

const deploymentPath = `/apis/apps/v1/namespaces/${NS}/deployments/${SERVICE}`;
const OWNER = `Deployment ${NS}/${SERVICE}`;
const FINALIZER = "twin.auditflow.dev/kubelet-termination";

/** The service's pods (not deleted), live. */
async function servicePods(kube: Kube): Promise<Obj[]> {
  const pods = (await kube.get(`/api/v1/namespaces/${NS}/pods`)).items as Obj[];
  return pods.filter((p) => ownerOf(p) === OWNER && !p.metadata.deletionTimestamp);
}

/**
 * Counts the service's pods at their peak, with and without the terminating ones. With
 * `holdSeconds`, also keeps every deleted pod of the service terminating that long before it goes,
 * as a kubelet does while the preStop hook runs: a finalizer is put on each pod as it appears and
 * taken off `holdSeconds` after the pod's deletion began.
 */
function watchServicePods(kube: Kube, holdSeconds?: number) {
  const pods = new Map<string, { name: string; terminating: boolean }>();
  const tagged = new Set<string>();
  const releasing = new Set<string>();
  const timers: NodeJS.Timeout[] = [];
  let peakActive = 0;
  let peakAll = 0;
  const patch = (name: string, finalizers: string[] | null) =>
    kube
      .request(
        "PATCH",
        `/api/v1/namespaces/${NS}/pods/${name}`,
        { metadata: { finalizers } },
        "application/merge-patch+json",
      )
      .catch((e: unknown) => {
        // Gone already, or being deleted before the finalizer went on: nothing to hold.
        if (!(e instanceof ApiError && [404, 409, 422].includes(e.code))) throw e;
      });
  const release = (p: Obj) => {
    const others = (p.metadata.finalizers ?? []).filter((f: string) => f !== FINALIZER);
    return patch(p.metadata.name, others.length ? others : null);
  };
  const w = kube.watch(`/api/v1/namespaces/${NS}/pods`, (type, p) => {
    if (ownerOf(p) !== OWNER) return;
    const uid = p.metadata.uid as string;
    if (type === "DELETED") pods.delete(uid);
    else pods.set(uid, { name: p.metadata.name, terminating: !!p.metadata.deletionTimestamp });
    const all = [...pods.values()];
    peakAll = Math.max(peakAll, all.length);
    peakActive = Math.max(peakActive, all.filter((x) => !x.terminating).length);
    if (type === "DELETED" || holdSeconds === undefined) return;
    const held = (p.metadata.finalizers ?? []).includes(FINALIZER);
    if (!p.metadata.deletionTimestamp && !held && !tagged.has(uid)) {
      tagged.add(uid);
      void patch(p.metadata.name, [...(p.metadata.finalizers ?? []), FINALIZER]);
    } else if (p.metadata.deletionTimestamp && held && !releasing.has(uid)) {
      releasing.add(uid);
      timers.push(setTimeout(() => void release(p), holdSeconds * 1000));
    }
  });
  return {
    peaks: () => ({ active: peakActive, withTerminating: peakAll }),
    /** Stops holding pods: every finalizer of ours comes off now. */
    stop: async () => {
      w.stop();
      timers.forEach(clearTimeout);
      const live = (await kube.get(`/api/v1/namespaces/${NS}/pods`)).items as Obj[];
      await Promise.all(
        live.filter((p) => (p.metadata.finalizers ?? []).includes(FINALIZER)).map(release),
      );
    },
  };
}

/** The lowest `status.availableReplicas` of the Deployment over every watch event. */
function watchAvailable(kube: Kube) {
  let min = Infinity;
  let events = 0;
  const w = kube.watch(
    `/apis/apps/v1/namespaces/${NS}/deployments?fieldSelector=${encodeURIComponent(`metadata.name=${SERVICE}`)}`,
    (_type, d) => {
      events++;
      min = Math.min(min, d.status?.availableReplicas ?? 0);
    },
  );
  return { min: () => min, events: () => events, stop: w.stop };
}

/** FailedCreate events of the service's ReplicaSets, by uid, with their messages. */
async function failedCreates(kube: Kube): Promise<Map<string, string>> {
  const events = (
    await kube.get(`/api/v1/namespaces/${NS}/events?fieldSelector=reason%3DFailedCreate`)
  ).items as Obj[];
  return new Map(
    events
      .filter((e) => String(e.involvedObject?.name).startsWith(`${SERVICE}-`))
      .map((e) => [e.metadata.uid as string, e.message as string]),
  );
}

const newEntries = (before: Map<string, string>, after: Map<string, string>) =>
  [...after].filter(([uid]) => !before.has(uid)).map(([, m]) => m);

describe(`${STACK}'s ${SERVICE} on the cluster twin: rules, autoscaling and rollback`, () => {
  let session: TwinSession;
  let ok = false;
  const fileA = stackFileWith("image-a", (s) => (s.image = A));

  beforeAll(async () => {
    const r = await runTwin({
      stack: STACK,
      configFile: fileA,
      keep: true,
      logDir: path.join(REPO, "out/twin", `${STACK}-services`),
    });
    session = r.session!;
    expect(r.problems).toEqual([]);
  });
  afterAll(async () => {
    await session?.stop(ok);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const rendered = (objects: Obj[], kind: string, name: string) =>
    objects.find((o) => o.kind === kind && o.metadata.name === name)!;
  const preStopSeconds = () =>
    Number(
      rendered(session.rendered.objects, "Deployment", SERVICE).spec.template.spec.containers[0]
        .lifecycle.preStop.sleep.seconds,
    );
  const hpa = () =>
    session.rendered.objects.find(
      (o) => o.kind === "HorizontalPodAutoscaler" && o.spec.scaleTargetRef.name === SERVICE,
    )!;

  test(
    "a rules change re-rendered and applied as `pulumi up` would updates the ConfigMap in place and " +
      "leaves every pod alone (same pod UIDs, restartCount 0, Deployment generation and pod-template-hash " +
      "unchanged, no pod event); kwok does not project the new file into the pods (the kubelet's projection and the file-watch contract: tests/twin/rules-file-watch.test.ts)",
    async () => {
      const kube = session.kube;
      const fileRules = stackFileWith("rules-changed", (s) => {
        s.image = A;
        s.rules![0]!.severity = "critical";
        s.rules!.push({
          id: "twin-added-rule",
          description: "Added by the twin test: a rules change.",
          severity: "low",
          match: { eventTypes: ["twin.test"] },
        });
      });
      const next = renderStack(STACK, fileRules);
      // What `pulumi preview` would show: one update, the rules ConfigMap, and nothing else.
      expect(changedObjects(session.rendered.objects, next.objects)).toEqual([
        `ConfigMap ${NS}/${SERVICE}-rules`,
      ]);
      const cmPath = `/api/v1/namespaces/${NS}/configmaps/${SERVICE}-rules`;
      const cmBefore = await kube.get(cmPath);
      const dBefore = await kube.get(deploymentPath);
      const podsBefore = await servicePods(kube);
      expect(podsBefore).toHaveLength(hpa().spec.minReplicas);
      const podEvents: string[] = [];
      const w = kube.watch(`/api/v1/namespaces/${NS}/pods`, (type, p) => {
        if (ownerOf(p) === OWNER) podEvents.push(`${type} ${p.metadata.name}`);
      });
      await until(
        async () => (podEvents.length >= podsBefore.length ? true : undefined),
        10_000,
        () => "the pod watch's initial list",
      );
      podEvents.length = 0;
      try {
        expect(await applyAll(kube, next.objects)).toEqual([]);
        // The controllers react within milliseconds; five seconds without a pod event is quiet.
        await sleep(5000);
      } finally {
        w.stop();
      }
      expect(podEvents).toEqual([]);
      const cmAfter = await kube.get(cmPath);
      expect(cmAfter.metadata.uid).toBe(cmBefore.metadata.uid);
      expect(cmAfter.metadata.resourceVersion).not.toBe(cmBefore.metadata.resourceVersion);
      const rulesJson = JSON.parse(cmAfter.data["rules.json"]);
      expect(rulesJson.rules.map((r: Obj) => r.id)).toContain("twin-added-rule");
      expect(cmAfter.data).toEqual(rendered(next.objects, "ConfigMap", `${SERVICE}-rules`).data);
      const dAfter = await kube.get(deploymentPath);
      expect(dAfter.metadata.generation).toBe(dBefore.metadata.generation);
      const podsAfter = await servicePods(kube);
      const view = (ps: Obj[]) =>
        ps
          .map((p) => ({
            uid: p.metadata.uid,
            hash: p.metadata.labels["pod-template-hash"],
            restarts: (p.status.containerStatuses ?? []).map((c: Obj) => c.restartCount),
          }))
          .sort((a, b) => (a.uid < b.uid ? -1 : 1));
      expect(view(podsAfter)).toEqual(view(podsBefore));
      expect(
        view(podsAfter).every(
          (p) => p.restarts.length > 0 && p.restarts.every((n: number) => n === 0),
        ),
      ).toBe(true);
      // One ReplicaSet, the one the pods came from: no new pod template was rolled out.
      const replicaSets = (
        (await kube.get(`/apis/apps/v1/namespaces/${NS}/replicasets`)).items as Obj[]
      ).filter((rs) => rs.metadata.ownerReferences?.[0]?.name === SERVICE);
      expect(replicaSets.map((rs: Obj) => rs.metadata.labels["pod-template-hash"])).toEqual([
        podsBefore[0]!.metadata.labels["pod-template-hash"],
      ]);
      session.rendered = next;
    },
  );

  /** Applies the Deployment of a render (what `pulumi up` sends for it) and waits for the rollout. */
  const rollOut = async (objects: Obj[], edit: (d: Obj) => void = () => undefined) => {
    const d = structuredClone(rendered(objects, "Deployment", SERVICE));
    edit(d);
    await session.kube.apply(d, FIELD_MANAGER);
  };
  const waitRolledOut = (timeoutMs: number) =>
    until(
      async () => ((await deploymentRolledOut(session.kube, NS, SERVICE)) ? true : undefined),
      timeoutMs,
      () => `rollout of ${SERVICE}`,
      250,
    );
  const liveImages = async () =>
    (await servicePods(session.kube)).map((p) => p.spec.containers[0].image as string);

  const quotaPath = () => {
    const q = session.rendered.objects.find(
      (o) => o.kind === "ResourceQuota" && o.metadata.namespace === NS,
    )!;
    return `/api/v1/namespaces/${NS}/resourcequotas/${q.metadata.name}`;
  };

  test(
    "at the HPA's maximum (5, set through the scale subresource as the HPA does) a rolling update to a new " +
      "digest completes under the namespace's ResourceQuota and LimitRange with the surge pod admitted " +
      "and no pod creation refused (deleted pods go at once, as kwok removes them)",
    async () => {
      const kube = session.kube;
      const max = hpa().spec.maxReplicas as number;
      expect(max).toBe(5);
      // The namespace's guards are the program's own and in force.
      expect((await kube.get(quotaPath())).spec.hard).toEqual(
        session.rendered.objects.find(
          (o) => o.kind === "ResourceQuota" && o.metadata.namespace === NS,
        )!.spec.hard,
      );
      const limitRanges = (await kube.get(`/api/v1/namespaces/${NS}/limitranges`)).items as Obj[];
      expect(limitRanges).toHaveLength(1);
      await kube.request(
        "PATCH",
        `${deploymentPath}/scale`,
        { spec: { replicas: max } },
        "application/merge-patch+json",
      );
      await waitRolledOut(60_000);
      const next = renderStack(
        STACK,
        stackFileWith("image-b", (s) => (s.image = B)),
      );
      // The image is in the Deployment and in the Jobs of that rollout (backup, migration); this
      // test applies the Deployment, whose pods are what the quota has to hold at the maximum.
      expect(changedObjects(session.rendered.objects, next.objects)).toContain(
        `Deployment ${NS}/${SERVICE}`,
      );
      const refusedBefore = await failedCreates(kube);
      const pods = watchServicePods(kube);
      const t0 = Date.now();
      try {
        await rollOut(next.objects);
        await waitRolledOut(120_000);
      } finally {
        await pods.stop();
      }
      const peaks = pods.peaks();
      process.stdout.write(
        `twin ${STACK}: ${SERVICE} at ${max} replicas rolled out to a new digest in ${((Date.now() - t0) / 1000).toFixed(1)}s, ` +
          `at most ${peaks.active} pods at once\n`,
      );
      expect(newEntries(refusedBefore, await failedCreates(kube))).toEqual([]);
      // maxSurge 1: the sixth pod was admitted.
      expect(peaks.active).toBe(max + 1);
      expect(await liveImages()).toEqual(Array(max).fill(B));
      // Pulumi's apply sends no replicas: the HPA's count stands.
      expect((await kube.get(deploymentPath)).spec.replicas).toBe(max);
      session.rendered = next;
    },
  );

  test(
    "a rollback (the stack rendered with the previous digest, its Deployment applied as `npm run rollback`'s " +
      "targeted `pulumi up` applies it) returns every pod to the previous digest, and availableReplicas, " +
      "watched on every event, never drops below the replicas (the PDB promises one fewer), with deleted " +
      "pods held terminating for their preStop sleep",
    async () => {
      const kube = session.kube;
      const replicas = (await kube.get(deploymentPath)).spec.replicas as number;
      expect(replicas).toBe(hpa().spec.maxReplicas);
      const previous = renderStack(STACK, fileA);
      // The rendered Deployment is exactly the one that ran before: the previous digest and nothing else.
      const deploymentA = rendered(previous.objects, "Deployment", SERVICE);
      expect(deploymentA.spec.template.spec.containers[0].image).toBe(A);
      expect(changedObjects(previous.objects, session.rendered.objects)).toContain(
        `Deployment ${NS}/${SERVICE}`,
      );
      const pdb = session.rendered.objects.find(
        (o) =>
          o.kind === "PodDisruptionBudget" &&
          o.metadata.namespace === NS &&
          o.spec.selector.matchLabels["app.kubernetes.io/name"] === SERVICE,
      )!;
      const promised =
        pdb.spec.minAvailable !== undefined
          ? Number(pdb.spec.minAvailable)
          : replicas - Number(pdb.spec.maxUnavailable);
      const available = watchAvailable(kube);
      const ready = watchReadiness(kube);
      const refusedBefore = await failedCreates(kube);
      const pods = watchServicePods(kube, preStopSeconds());
      const t0 = Date.now();
      try {
        await until(
          async () =>
            available.events() > 0 && ready.readyNow(OWNER) === replicas ? true : undefined,
          10_000,
          () => "the watches' initial lists",
        );
        ready.resetMinimum();
        await rollOut(previous.objects);
        await waitRolledOut(180_000);
      } finally {
        await pods.stop();
        available.stop();
        ready.stop();
      }
      const seconds = ((Date.now() - t0) / 1000).toFixed(1);
      const refused = newEntries(refusedBefore, await failedCreates(kube));
      process.stdout.write(
        `twin ${STACK}: rollback of ${SERVICE} (${replicas} replicas) in ${seconds}s; availableReplicas at least ` +
          `${available.min()} over ${available.events()} Deployment events, ready pods at least ` +
          `${ready.minimums().get(OWNER)}; at most ${pods.peaks().withTerminating} pods counting the terminating; ` +
          `${refused.length} pod creations refused by the quota meanwhile${refused[0] ? ` (first: ${refused[0]})` : ""}\n`,
      );
      expect(await liveImages()).toEqual(Array(replicas).fill(A));
      expect(available.min()).toBeGreaterThanOrEqual(promised);
      expect(available.min()).toBe(replicas);
      expect(ready.minimums().get(OWNER)).toBe(replicas);
      // Whatever held the surge pod back was the quota, counting pods that were still terminating.
      for (const m of refused) expect(m).toMatch(/is forbidden: exceeded quota: /);
      session.rendered = previous;
    },
  );

  test(
    "must fail: with a quota 1m CPU short of the surge pod at the HPA's maximum, a rolling update stalls " +
      "(the surge pod refused with `exceeded quota`, every old pod serving) and the Deployment reports " +
      "ProgressDeadlineExceeded (its deadline shortened to 10 s so the test sees it)",
    async () => {
      const kube = session.kube;
      const live = await kube.get(quotaPath());
      const replicas = (await kube.get(deploymentPath)).spec.replicas as number;
      const pod = podRequests(
        rendered(session.rendered.objects, "Deployment", SERVICE).spec.template,
      );
      const podLimits = (
        rendered(session.rendered.objects, "Deployment", SERVICE).spec.template.spec
          .containers as Obj[]
      ).reduce((a, c) => a + cpuMillis(String(c.resources.limits.cpu)), 0);
      // What the pods of the namespace use now, as the quota controller counts them.
      const used = await until(
        async () => {
          const q = (await kube.get(quotaPath())).status?.used ?? {};
          const running = ((await kube.get(`/api/v1/namespaces/${NS}/pods`)).items as Obj[]).filter(
            (p) => !["Succeeded", "Failed"].includes(p.status?.phase),
          );
          const cpu = running.map(podRequests).reduce((a, b) => a + b.cpu, 0);
          return cpuMillis(q["requests.cpu"] ?? "0") === cpu &&
            !running.some((p) => p.metadata.deletionTimestamp)
            ? { requestsCpu: cpu, limitsCpu: cpuMillis(q["limits.cpu"] ?? "0") }
            : undefined;
        },
        30_000,
        () => "quota usage to match the running pods",
      );
      const hard = {
        ...live.spec.hard,
        "requests.cpu": `${used.requestsCpu + pod.cpu - 1}m`,
        "limits.cpu": `${Math.max(used.limitsCpu + podLimits, cpuMillis(live.spec.hard["limits.cpu"]))}m`,
      };
      await kube.request("PATCH", quotaPath(), { spec: { hard } }, "application/merge-patch+json");
      const next = renderStack(
        STACK,
        stackFileWith("image-c", (s) => (s.image = C)),
      );
      const refusedBefore = await failedCreates(kube);
      const ready = watchReadiness(kube);
      try {
        await until(
          async () => (ready.readyNow(OWNER) === replicas ? true : undefined),
          10_000,
          () => "the pod watch's initial list",
        );
        ready.resetMinimum();
        await rollOut(next.objects, (d) => (d.spec.progressDeadlineSeconds = 10));
        const stalled = await until(
          async () => {
            const d = await kube.get(deploymentPath);
            const c = (d.status?.conditions ?? []).find((x: Obj) => x.type === "Progressing");
            return c?.reason === "ProgressDeadlineExceeded" ? c : undefined;
          },
          60_000,
          () => "the Deployment's ProgressDeadlineExceeded condition",
          500,
        );
        expect(stalled.status).toBe("False");
        expect(stalled.message).toMatch(/has timed out progressing/);
      } finally {
        ready.stop();
      }
      const refused = newEntries(refusedBefore, await failedCreates(kube));
      expect(refused).toEqual(
        expect.arrayContaining([
          expect.stringMatching(
            new RegExp(`exceeded quota: [a-z0-9-]+, requested: requests\\.cpu=${pod.cpu}m`),
          ),
        ]),
      );
      expect(ready.minimums().get(OWNER)).toBe(replicas);
      expect(await liveImages()).toEqual(Array(replicas).fill(A));
      ok = true;
    },
  );
});
