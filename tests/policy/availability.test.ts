import { goodStack, mutated, pod, spec } from "./fixtures";

spec(
  "ha-replicas",
  [
    [
      "one replica",
      () => mutated("Deployment", (o) => (o.spec.replicas = 1)),
      /runs 1 replica\(s\); the stack asks for at least 2/,
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
    /2 replicas may all land on one node/,
  ],
]);

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
