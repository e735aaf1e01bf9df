import { byNamespace, labelSelectorMatches, podGroups } from "../../lib/netpol";
import { stackPolicy } from "../../lib/define";

export const networkPolicySelectsPods = stackPolicy({
  name: "network-policy-selects-pods",
  theme: "networking",
  severity: "medium",
  rationale: "A NetworkPolicy that selects no pods protects nothing and misleads readers.",
  link: "https://kubernetes.io/docs/concepts/services-networking/network-policies/",
  description:
    "A NetworkPolicy with a pod selector selects some pods of the stack (a typo in a label silently opens nothing).",
  fix: "correct the podSelector labels so they match the intended pods, or delete the policy",
  equivalents: { kubeScore: ["networkpolicy-targets-pod"] },
  check: (subjects, all) => {
    const groups = byNamespace(podGroups(all), (g) => g.namespace);
    return subjects
      .filter((r) => r.kind === "NetworkPolicy")
      .filter((r) => {
        const sel = r.props?.spec?.podSelector;
        return Object.keys(sel?.matchLabels ?? {}).length > 0 || sel?.matchExpressions?.length > 0;
      })
      .filter(
        (r) =>
          !(groups.get(r.props?.metadata?.namespace) ?? []).some((g) =>
            labelSelectorMatches(r.props.spec.podSelector, g.labels),
          ),
      )
      .map((r) => ({
        urn: r.urn,
        problem: `NetworkPolicy ${r.props?.metadata?.name ?? r.name} selects no pods`,
      }));
  },
});
