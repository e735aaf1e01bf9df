import { resourcePolicy } from "../../lib/define";

export const noExternalServiceTypes = resourcePolicy<{
  allowNodePort?: boolean;
  allowLoadBalancer?: boolean;
}>({
  name: "no-external-service-types",
  theme: "networking",
  severity: "high",
  rationale:
    "NodePort and LoadBalancer Services expose pods outside the cluster, past the ingress.",
  link: "https://kubernetes.io/docs/concepts/services-networking/service/#publishing-services-service-types",
  description:
    "Services are ClusterIP; NodePort and LoadBalancer only where the pack config allows them.",
  fix: "use a ClusterIP Service behind the Ingress, or allow the type in the pack config for this stack",
  genericFix:
    "use a ClusterIP Service behind an Ingress or gateway unless the Service must be reached from outside the cluster",
  equivalents: { kubeLinter: ["exposed-services"], kubeScore: ["service-type"] },
  kinds: ["Service"],
  config: {
    allowNodePort: { type: "boolean", default: false },
    allowLoadBalancer: { type: "boolean", default: false },
  },
  check: ({ props, config }) => {
    const t = props.spec?.type;
    if (t === "NodePort" && !config.allowNodePort) return ["the Service is of type NodePort"];
    if (t === "LoadBalancer" && !config.allowLoadBalancer)
      return ["the Service is of type LoadBalancer"];
    return [];
  },
});
