import { resourcePolicy } from "../../lib/define";

export const cronjobDeadlineAndConcurrency = resourcePolicy({
  name: "cronjob-deadline-and-concurrency",
  theme: "availability",
  severity: "medium",
  rationale:
    "A CronJob without a starting deadline and a concurrency policy can pile up overlapping runs after an outage.",
  link: "https://kubernetes.io/docs/concepts/workloads/controllers/cron-jobs/",
  description: "CronJobs set startingDeadlineSeconds and a concurrencyPolicy other than Allow.",
  fix: "set spec.startingDeadlineSeconds (e.g. 300) and spec.concurrencyPolicy: Forbid (or Replace)",
  equivalents: { kubeScore: ["cronjob-has-deadline"] },
  kinds: ["CronJob"],
  check: ({ props }) => [
    ...(props.spec?.startingDeadlineSeconds === undefined
      ? ["startingDeadlineSeconds is not set"]
      : []),
    ...(props.spec?.concurrencyPolicy === undefined || props.spec.concurrencyPolicy === "Allow"
      ? ["concurrencyPolicy allows overlapping runs"]
      : []),
  ],
});
