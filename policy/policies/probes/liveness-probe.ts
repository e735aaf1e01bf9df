import { containersOf } from "../../lib/k8s";
import { resourcePolicy } from "../../lib/define";

export const livenessProbe = resourcePolicy({
  name: "liveness-probe",
  theme: "probes",
  severity: "medium",
  rationale: "Without a liveness probe a hung process keeps its pod until someone notices.",
  link: "https://kubernetes.io/docs/tasks/configure-pod-container/configure-liveness-readiness-startup-probes/",
  description: "Every container of a long-running workload has a liveness probe.",
  fix: "add a livenessProbe (httpGet on a health endpoint, or exec/tcpSocket) to the container",
  equivalents: {
    polaris: ["livenessProbeMissing"],
    kubeLinter: ["no-liveness-probe"],
    kubeScore: ["container-probes"],
  },
  workloads: true,
  check: ({ workload }) =>
    workload.longRunning
      ? containersOf(workload.pod)
          .filter((x) => !x.init && !x.c?.livenessProbe)
          .map((x) => `${x.label} has no liveness probe`)
      : [],
});
