import { replicaRange } from "../../lib/k8s";
import { stackPolicy } from "../../lib/define";

export const haReplicas = stackPolicy<{ minReplicas?: number }>({
  name: "ha-replicas",
  theme: "availability",
  severity: "high",
  rationale: "A single replica in prod means every node drain or crash is an outage.",
  link: "https://kubernetes.io/docs/concepts/workloads/pods/disruptions/",
  description:
    "Stateless workloads (Deployments) run at least minReplicas pods where the stack asks for high availability; an autoscaled one counts its HorizontalPodAutoscaler's minReplicas.",
  fix: "raise replicas (or the HorizontalPodAutoscaler's minReplicas) to at least the stack's minimum (and keep a PodDisruptionBudget)",
  equivalents: { kubeScore: ["deployment-replicas"] },
  config: { minReplicas: { type: "integer", minimum: 1, default: 2 } },
  check: (subjects, all, config) => {
    const min = config.minReplicas ?? 2;
    return subjects.flatMap((r) => {
      if (r.kind !== "Deployment") return [];
      const range = replicaRange(r, all);
      if (!range || range.min >= min) return [];
      const what =
        range.by === "spec.replicas"
          ? `the Deployment runs ${range.min} replica(s)`
          : `the Deployment's ${range.by} may scale it down to ${range.min} replica(s)`;
      return [{ urn: r.urn, problem: `${what}; the stack asks for at least ${min}` }];
    });
  },
});
