import {
  byNamespace,
  defaultDenyNamespaces,
  labelSelectorMatches,
  podGroups,
  PodGroup,
} from "../../lib/netpol";
import { selects } from "../../lib/k8s";
import { stackPolicy, StackResource } from "../../lib/define";

/** Whether some Service of the pods' namespace sends traffic to them (then they need ingress). */
function served(g: PodGroup, services: Map<string | undefined, StackResource[]>): boolean {
  return (services.get(g.namespace) ?? []).some((s) => {
    const sel = s.props?.spec?.selector;
    return sel && Object.keys(sel).length > 0 && selects(sel, g.labels);
  });
}

export const podSelectedByNetworkPolicy = stackPolicy({
  name: "pod-selected-by-network-policy",
  theme: "networking",
  severity: "high",
  rationale: "A pod no NetworkPolicy selects accepts traffic from anywhere in the cluster.",
  link: "https://kubernetes.io/docs/concepts/services-networking/network-policies/",
  description:
    "Every workload's pods are selected by a NetworkPolicy that names them, unless they serve nothing and the namespace's default-deny already isolates them.",
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
    const services = byNamespace(
      all.filter((r) => r.kind === "Service"),
      (s) => s.props?.metadata?.namespace,
    );
    const denied = defaultDenyNamespaces(all);
    return (
      podGroups(subjects)
        .filter(
          (g) =>
            !(policies.get(g.namespace) ?? []).some((p) =>
              labelSelectorMatches(p.props.spec.podSelector, g.labels),
            ),
        )
        // Pods nobody calls, in a namespace that denies all traffic, are as isolated as pods can be.
        .filter((g) => !(denied.has(g.namespace) && !served(g, services)))
        .map((g) => ({
          urn: g.owner.urn,
          problem: `${g.owner.kind} ${g.owner.props?.metadata?.name ?? g.owner.name} has pods no specific NetworkPolicy selects${served(g, services) ? " and a Service sends traffic to them" : ""}`,
        }))
    );
  },
});
