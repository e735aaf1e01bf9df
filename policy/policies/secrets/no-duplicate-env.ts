import { containersOf, K8sObject } from "../../lib/k8s";
import { resourcePolicy } from "../../lib/define";

export const noDuplicateEnv = resourcePolicy({
  name: "no-duplicate-env",
  theme: "secrets",
  severity: "low",
  rationale: "With a variable defined twice the last value silently wins.",
  link: "https://kubernetes.io/docs/tasks/inject-data-application/define-environment-variable-container/",
  description:
    "No container defines the same environment variable twice (the last one silently wins).",
  fix: "remove the duplicate env entry",
  equivalents: { kubeLinter: ["duplicate-env-var"] },
  workloads: true,
  check: ({ workload }) =>
    containersOf(workload.pod).flatMap(({ c, label }) => {
      const names = (Array.isArray(c?.env) ? c.env : []).map((e: K8sObject) => e?.name);
      return [...new Set(names.filter((n: string, i: number) => names.indexOf(n) !== i))].map(
        (n) => `${label} defines ${n} more than once`,
      );
    }),
});
