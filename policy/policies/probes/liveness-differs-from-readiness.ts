import { containersOf } from "../../lib/k8s";
import { resourcePolicy } from "../../lib/define";

export const livenessDiffersFromReadiness = resourcePolicy({
  name: "liveness-differs-from-readiness",
  theme: "probes",
  severity: "medium",
  rationale: "Identical probes restart a pod that is only busy, turning load into restarts.",
  link: "https://kubernetes.io/docs/tasks/configure-pod-container/configure-liveness-readiness-startup-probes/",
  description:
    "Liveness and readiness probes are not identical (a dependency outage must not restart every pod).",
  fix: "make liveness check only that the process is alive (e.g. /healthz) and readiness that it can serve (e.g. /readyz)",
  equivalents: { kubeScore: ["container-probes"] },
  workloads: true,
  check: ({ workload }) =>
    containersOf(workload.pod)
      .filter(
        ({ c }) =>
          c?.livenessProbe &&
          c?.readinessProbe &&
          JSON.stringify(c.livenessProbe) === JSON.stringify(c.readinessProbe),
      )
      .map(({ label }) => `${label} has identical liveness and readiness probes`),
});
