import { stackPolicy } from "../../lib/define";
import { defaultDenyNamespaces } from "../../lib/netpol";

export const namespaceDefaultDeny = stackPolicy({
  name: "namespace-default-deny",
  theme: "networking",
  severity: "high",
  rationale: "Without a default deny every pod can reach every other pod.",
  link: "https://kubernetes.io/docs/concepts/services-networking/network-policies/#default-policies",
  description:
    "Every namespace the stack creates has a default-deny NetworkPolicy for ingress and egress.",
  fix: "add a NetworkPolicy with podSelector {} and policyTypes [Ingress, Egress] and no rules to the namespace",
  equivalents: { kubeScore: ["pod-networkpolicy"] },
  check: (subjects, all) => {
    const denied = defaultDenyNamespaces(all);
    return subjects
      .filter((r) => r.kind === "Namespace")
      .filter((r) => !denied.has(r.props?.metadata?.name))
      .map((r) => ({
        urn: r.urn,
        problem: `namespace ${r.props?.metadata?.name ?? r.name} has no default-deny NetworkPolicy`,
      }));
  },
});
