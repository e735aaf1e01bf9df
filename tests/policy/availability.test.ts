import { autoscaled, goodStack, mutated, pod, spec, violationsOf } from "./fixtures";

spec(
  "ha-replicas",
  [
    [
      "one replica",
      () => mutated("Deployment", (o) => (o.spec.replicas = 1)),
      /runs 1 replica\(s\); the stack asks for at least 2/,
    ],
    [
      "an autoscaler whose minimum is 1",
      () => autoscaled(1, 6),
      /HorizontalPodAutoscaler api may scale it down to 1 replica\(s\); the stack asks for at least 2/,
    ],
  ],
  { minReplicas: 2 },
);

spec("pdb-for-replicated", [
  [
    "no PDB",
    () => goodStack().filter((r) => !r.type.endsWith(":PodDisruptionBudget")),
    /Deployment api has 2 replicas and no PodDisruptionBudget/,
  ],
  [
    "an autoscaled Deployment (up to 4) without a PDB",
    () => autoscaled(1, 4).filter((r) => !r.type.endsWith(":PodDisruptionBudget")),
    /Deployment api has up to 4 \(HorizontalPodAutoscaler api\) replicas and no PodDisruptionBudget/,
  ],
]);

spec("pdb-allows-disruption", [
  [
    "maxUnavailable 0",
    () => mutated("PodDisruptionBudget", (o) => (o.spec.maxUnavailable = 0)),
    /maxUnavailable 0 blocks every voluntary disruption/,
  ],
  [
    "minAvailable 100%",
    () =>
      mutated("PodDisruptionBudget", (o) => {
        delete o.spec.maxUnavailable;
        o.spec.minAvailable = "100%";
      }),
    /minAvailable 100% blocks/,
  ],
  [
    "neither set",
    () => mutated("PodDisruptionBudget", (o) => delete o.spec.maxUnavailable),
    /sets neither maxUnavailable nor minAvailable/,
  ],
]);

spec("spread-replicas", [
  [
    "no spread",
    () => mutated("Deployment", (o) => delete pod(o).topologySpreadConstraints),
    /Deployment api: 2 replicas may all land on one node/,
  ],
  [
    "an autoscaled Deployment (1 to 3) without spreading",
    () => autoscaled(1, 3, (o) => delete pod(o).topologySpreadConstraints),
    /Deployment api: up to 3 replicas may all land on one node/,
  ],
]);

describe("autoscaled workloads are judged by their HorizontalPodAutoscaler", () => {
  test("ha-replicas accepts an autoscaler whose minimum meets the stack's", async () => {
    expect(await violationsOf("ha-replicas", autoscaled(2, 5), { minReplicas: 2 })).toEqual([]);
  });
  test("pdb-for-replicated and spread-replicas let a Deployment scaled 1 to 1 go without", async () => {
    const single = autoscaled(1, 1, (o) => delete pod(o).topologySpreadConstraints).filter(
      (r) => !r.type.endsWith(":PodDisruptionBudget"),
    );
    expect(await violationsOf("pdb-for-replicated", single)).toEqual([]);
    expect(await violationsOf("spread-replicas", single)).toEqual([]);
  });
  test("an autoscaler of another Deployment does not count", async () => {
    const stack = autoscaled(1, 6);
    (stack.at(-1)!.props as any).spec.scaleTargetRef.name = "other";
    // Without replicas and without its own autoscaler the Deployment runs Kubernetes' default 1.
    expect(
      (await violationsOf("ha-replicas", stack, { minReplicas: 2 })).map((v) => v.message),
    ).toEqual([expect.stringMatching(/the Deployment runs 1 replica\(s\)/)]);
  });
});

spec("rolling-update-keeps-capacity", [
  [
    "Recreate",
    () => mutated("Deployment", (o) => (o.spec.strategy = { type: "Recreate" })),
    /uses the Recreate strategy/,
  ],
  [
    "default maxUnavailable",
    () => mutated("Deployment", (o) => delete o.spec.strategy),
    /maxUnavailable is unset \(25% by default\)/,
  ],
]);

spec("job-ttl-and-backoff", [
  [
    "Job without ttl",
    () => mutated("Job", (o) => delete o.spec.ttlSecondsAfterFinished),
    /ttlSecondsAfterFinished is not set/,
  ],
  [
    "CronJob template without backoffLimit",
    () => mutated("CronJob", (o) => delete o.spec.jobTemplate.spec.backoffLimit),
    /backoffLimit is not set/,
  ],
]);

spec("cronjob-deadline-and-concurrency", [
  [
    "no deadline",
    () => mutated("CronJob", (o) => delete o.spec.startingDeadlineSeconds),
    /startingDeadlineSeconds is not set/,
  ],
  [
    "Allow",
    () => mutated("CronJob", (o) => (o.spec.concurrencyPolicy = "Allow")),
    /concurrencyPolicy allows overlapping runs/,
  ],
]);
