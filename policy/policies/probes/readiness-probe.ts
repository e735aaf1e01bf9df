import { containersOf } from "../../lib/k8s";
import { resourcePolicy } from "../../lib/define";

export const readinessProbe = resourcePolicy({
  name: "readiness-probe",
  theme: "probes",
  severity: "medium",
  rationale: "Without a readiness probe traffic reaches pods before they can serve.",
  link: "https://kubernetes.io/docs/tasks/configure-pod-container/configure-liveness-readiness-startup-probes/",
  description: "Every container of a long-running workload has a readiness probe.",
  fix: "add a readinessProbe that fails while the container cannot serve (e.g. httpGet /readyz)",
  equivalents: {
    polaris: ["readinessProbeMissing"],
    kubeLinter: ["no-readiness-probe"],
    kubeScore: ["container-probes"],
  },
  workloads: true,
  check: ({ workload }) =>
    workload.longRunning
      ? containersOf(workload.pod)
          .filter((x) => !x.init && !x.c?.readinessProbe)
          .map((x) => `${x.label} has no readiness probe`)
      : [],
});
