import { labelSelectorMatches, podGroups } from "../../lib/netpol";
import { stackPolicy } from "../../lib/define";

export const podSelectedByNetworkPolicy = stackPolicy({
  name: "pod-selected-by-network-policy",
  theme: "networking",
  description:
    "Every workload's pods are selected by a NetworkPolicy that names them (not only the namespace default).",
  fix: "add a NetworkPolicy whose podSelector matches the pods and lists who may reach them",
  equivalents: { kubeScore: ["pod-networkpolicy"] },
  check: (subjects, all) => {
    const policies = all.filter((r) => r.kind === "NetworkPolicy");
    return podGroups(subjects)
      .filter(
        (g) =>
          !policies.some((p) => {
            const sel = p.props?.spec?.podSelector;
            const specific =
              Object.keys(sel?.matchLabels ?? {}).length > 0 || sel?.matchExpressions?.length > 0;
            return (
              specific &&
              p.props?.metadata?.namespace === g.namespace &&
              labelSelectorMatches(sel, g.labels)
            );
          }),
      )
      .map((g) => ({
        urn: g.owner.urn,
        problem: `${g.owner.kind} ${g.owner.props?.metadata?.name ?? g.owner.name} has pods no specific NetworkPolicy selects`,
      }));
  },
});
