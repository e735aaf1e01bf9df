import { K8sObject } from "../../lib/k8s";
import { resourcePolicy } from "../../lib/define";

export const ingressTls = resourcePolicy({
  name: "ingress-tls",
  theme: "networking",
  severity: "high",
  rationale: "An Ingress without TLS sends credentials and data in clear text.",
  link: "https://kubernetes.io/docs/concepts/services-networking/ingress/#tls",
  description: "Every Ingress serves its hosts over TLS.",
  fix: "add a spec.tls entry with a secretName covering every host of the Ingress",
  equivalents: {},
  kinds: ["Ingress"],
  check: ({ props }) => {
    const tls: K8sObject[] = Array.isArray(props.spec?.tls) ? props.spec.tls : [];
    if (tls.length === 0) return ["the Ingress has no TLS section"];
    const covered = new Set(tls.flatMap((t) => t?.hosts ?? []));
    return (Array.isArray(props.spec?.rules) ? props.spec.rules : [])
      .map((r: K8sObject) => r?.host)
      .filter((h: unknown) => typeof h === "string" && !covered.has(h))
      .map((h: string) => `host ${h} is not covered by a TLS entry`);
  },
});
