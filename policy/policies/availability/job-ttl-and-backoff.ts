import { resourcePolicy } from "../../lib/define";

export const jobTtlAndBackoff = resourcePolicy({
  name: "job-ttl-and-backoff",
  theme: "availability",
  severity: "low",
  rationale:
    "Finished Jobs without a TTL accumulate, and without a backoff limit a failing Job retries for long.",
  link: "https://kubernetes.io/docs/concepts/workloads/controllers/ttlafterfinished/",
  description: "Jobs (and CronJob templates) set ttlSecondsAfterFinished and backoffLimit.",
  fix: "set spec.ttlSecondsAfterFinished (e.g. 86400) and spec.backoffLimit (e.g. 2) on the Job",
  equivalents: { kubeLinter: ["job-ttl-seconds-after-finished"] },
  kinds: ["Job", "CronJob"],
  check: ({ kind, props }) => {
    const spec = kind === "CronJob" ? props.spec?.jobTemplate?.spec : props.spec;
    return [
      ...(spec?.ttlSecondsAfterFinished === undefined
        ? ["ttlSecondsAfterFinished is not set"]
        : []),
      ...(spec?.backoffLimit === undefined
        ? ["backoffLimit is not set (6 retries by default)"]
        : []),
    ];
  },
});
