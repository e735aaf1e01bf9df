import { resourcePolicy } from "../../lib/define";

export const rollingUpdateKeepsCapacity = resourcePolicy({
  name: "rolling-update-keeps-capacity",
  theme: "availability",
  severity: "medium",
  rationale: "maxUnavailable above zero drops serving capacity during every rollout.",
  link: "https://kubernetes.io/docs/concepts/workloads/controllers/deployment/#rolling-update-deployment",
  description:
    "Deployments roll out with RollingUpdate and maxUnavailable 0, so serving capacity never drops during an update.",
  fix: "set strategy: {type: RollingUpdate, rollingUpdate: {maxUnavailable: 0, maxSurge: 1}}",
  equivalents: { kubeLinter: ["no-rolling-update-strategy"] },
  kinds: ["Deployment"],
  check: ({ props }) => {
    const s = props.spec?.strategy;
    if (s?.type === "Recreate")
      return ["the Deployment uses the Recreate strategy (all pods down during an update)"];
    const mu = s?.rollingUpdate?.maxUnavailable;
    return mu === 0 || mu === "0%"
      ? []
      : [`maxUnavailable is ${mu === undefined ? "unset (25% by default)" : JSON.stringify(mu)}`];
  },
});
