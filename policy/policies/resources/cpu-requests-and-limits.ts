import { containersOf } from "../../lib/k8s";
import { resourcePolicy } from "../../lib/define";

export const cpuRequestsAndLimits = resourcePolicy({
  name: "cpu-requests-and-limits",
  theme: "resources",
  severity: "medium",
  rationale:
    "Without CPU requests the scheduler overcommits nodes; without limits one pod starves the rest.",
  link: "https://kubernetes.io/docs/concepts/configuration/manage-resources-containers/",
  description: "Every container, init containers included, sets a CPU request and a CPU limit.",
  fix: "set resources.requests.cpu and resources.limits.cpu (e.g. 100m and 500m) on the container",
  equivalents: {
    polaris: ["cpuRequestsMissing", "cpuLimitsMissing"],
    kubeLinter: ["unset-cpu-requirements"],
    kubeScore: ["container-resources"],
  },
  workloads: true,
  check: ({ workload }) =>
    containersOf(workload.pod).flatMap(({ c, label }) => [
      ...(c?.resources?.requests?.cpu === undefined ? [`${label} has no CPU request`] : []),
      ...(c?.resources?.limits?.cpu === undefined ? [`${label} has no CPU limit`] : []),
    ]),
});
