import { resourcePolicy } from "../../lib/define";

export const pdbAllowsDisruption = resourcePolicy({
  name: "pdb-allows-disruption",
  theme: "availability",
  severity: "high",
  rationale: "A budget that allows no eviction blocks node drains and therefore upgrades.",
  link: "https://kubernetes.io/docs/concepts/workloads/pods/disruptions/",
  description:
    "A PodDisruptionBudget allows at least one pod to be evicted (maxUnavailable 0 or minAvailable 100% blocks node drains).",
  fix: "use maxUnavailable: 1 (or a minAvailable below the replica count)",
  equivalents: {
    kubeLinter: ["pdb-max-unavailable", "pdb-min-available"],
    kubeScore: ["poddisruptionbudget-has-policy"],
  },
  kinds: ["PodDisruptionBudget"],
  check: ({ props }) => {
    const s = props.spec ?? {};
    if (s.maxUnavailable === undefined && s.minAvailable === undefined)
      return ["the PodDisruptionBudget sets neither maxUnavailable nor minAvailable"];
    if (s.maxUnavailable === 0 || s.maxUnavailable === "0%")
      return ["maxUnavailable 0 blocks every voluntary disruption"];
    if (s.minAvailable === "100%") return ["minAvailable 100% blocks every voluntary disruption"];
    return [];
  },
});
