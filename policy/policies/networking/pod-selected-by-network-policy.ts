import { byNamespace, labelSelectorMatches, podGroups } from "../../lib/netpol";
import { stackPolicy } from "../../lib/define";

export const podSelectedByNetworkPolicy = stackPolicy({
  name: "pod-selected-by-network-policy",
  theme: "networking",
  description:
    "Every workload's pods are selected by a NetworkPolicy that names them (not only the namespace default).",
  fix: "add a NetworkPolicy whose podSelector matches the pods and lists who may reach them",
  equivalents: { kubeScore: ["pod-networkpolicy"] },
  check: (subjects, all) => {
    const specific = all.filter((p) => {
      const sel = p.props?.spec?.podSelector;
      return (
        p.kind === "NetworkPolicy" &&
        (Object.keys(sel?.matchLabels ?? {}).length > 0 || sel?.matchExpressions?.length > 0)
      );
    });
    const policies = byNamespace(specific, (p) => p.props?.metadata?.namespace);
    return podGroups(subjects)
      .filter(
        (g) =>
          !(policies.get(g.namespace) ?? []).some((p) =>
            labelSelectorMatches(p.props.spec.podSelector, g.labels),
          ),
      )
      .map((g) => ({
        urn: g.owner.urn,
        problem: `${g.owner.kind} ${g.owner.props?.metadata?.name ?? g.owner.name} has pods no specific NetworkPolicy selects`,
      }));
  },
});
