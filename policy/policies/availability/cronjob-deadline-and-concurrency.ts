import { resourcePolicy } from "../../lib/define";

export const cronjobDeadlineAndConcurrency = resourcePolicy({
  name: "cronjob-deadline-and-concurrency",
  theme: "availability",
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
