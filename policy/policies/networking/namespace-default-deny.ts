import { stackPolicy } from "../../lib/define";

export const namespaceDefaultDeny = stackPolicy({
  name: "namespace-default-deny",
  theme: "networking",
  description:
    "Every namespace the stack creates has a default-deny NetworkPolicy for ingress and egress.",
  fix: "add a NetworkPolicy with podSelector {} and policyTypes [Ingress, Egress] and no rules to the namespace",
  equivalents: { kubeScore: ["pod-networkpolicy"] },
  check: (subjects, all) => {
    const denied = new Set(
      all
        .filter((r) => r.kind === "NetworkPolicy")
        .filter((r) => {
          const s = r.props?.spec ?? {};
          const emptySelector =
            Object.keys(s.podSelector?.matchLabels ?? {}).length === 0 &&
            !(s.podSelector?.matchExpressions?.length > 0);
          const types: string[] = s.policyTypes ?? [];
          return (
            emptySelector &&
            types.includes("Ingress") &&
            types.includes("Egress") &&
            !s.ingress?.length &&
            !s.egress?.length
          );
        })
        .map((r) => r.props?.metadata?.namespace),
    );
    return subjects
      .filter((r) => r.kind === "Namespace")
      .filter((r) => !denied.has(r.props?.metadata?.name))
      .map((r) => ({
        urn: r.urn,
        problem: `namespace ${r.props?.metadata?.name ?? r.name} has no default-deny NetworkPolicy`,
      }));
  },
});
