import { containersOf } from "../../lib/k8s";
import { resourcePolicy } from "../../lib/define";

export const memoryRequestsAndLimits = resourcePolicy({
  name: "memory-requests-and-limits",
  theme: "resources",
  severity: "high",
  rationale: "Without memory limits one leaking pod gets its neighbours OOM-killed.",
  link: "https://kubernetes.io/docs/concepts/configuration/manage-resources-containers/",
  description:
    "Every container, init containers included, sets a memory request and a memory limit.",
  fix: "set resources.requests.memory and resources.limits.memory (e.g. 128Mi and 256Mi) on the container",
  equivalents: {
    polaris: ["memoryRequestsMissing", "memoryLimitsMissing"],
    kubeLinter: ["unset-memory-requirements"],
    kubeScore: ["container-resources"],
  },
  workloads: true,
  check: ({ workload }) =>
    containersOf(workload.pod).flatMap(({ c, label }) => [
      ...(c?.resources?.requests?.memory === undefined ? [`${label} has no memory request`] : []),
      ...(c?.resources?.limits?.memory === undefined ? [`${label} has no memory limit`] : []),
    ]),
});
