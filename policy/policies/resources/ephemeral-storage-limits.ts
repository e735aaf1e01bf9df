import { containersOf } from "../../lib/k8s";
import { resourcePolicy } from "../../lib/define";

/** Optional: disabled in the stack configs; enable it where node disks are small. */
export const ephemeralStorageLimits = resourcePolicy({
  name: "ephemeral-storage-limits",
  theme: "resources",
  severity: "low",
  rationale: "A pod filling the node's disk gets every pod on that node evicted.",
  link: "https://kubernetes.io/docs/concepts/configuration/manage-resources-containers/#local-ephemeral-storage",
  description: "Every container sets an ephemeral-storage request and limit (opt-in).",
  fix: 'set resources.requests["ephemeral-storage"] and resources.limits["ephemeral-storage"] on the container',
  equivalents: { kubeScore: ["container-ephemeral-storage-request-and-limit"] },
  workloads: true,
  check: ({ workload }) =>
    containersOf(workload.pod).flatMap(({ c, label }) =>
      c?.resources?.requests?.["ephemeral-storage"] === undefined ||
      c?.resources?.limits?.["ephemeral-storage"] === undefined
        ? [`${label} has no ephemeral-storage request and limit`]
        : [],
    ),
});
