import { resourcePolicy } from "../../lib/define";

export const haReplicas = resourcePolicy<{ minReplicas?: number }>({
  name: "ha-replicas",
  theme: "availability",
  description:
    "Stateless workloads (Deployments) run at least minReplicas pods where the stack asks for high availability.",
  fix: "raise replicas to at least the stack's minimum (and keep a PodDisruptionBudget)",
  equivalents: { kubeScore: ["deployment-replicas"] },
  kinds: ["Deployment"],
  config: { minReplicas: { type: "integer", minimum: 1, default: 2 } },
  check: ({ props, config }) => {
    const replicas = props.spec?.replicas ?? 1;
    const min = config.minReplicas ?? 2;
    return replicas < min
      ? [`the Deployment runs ${replicas} replica(s); the stack asks for at least ${min}`]
      : [];
  },
});
