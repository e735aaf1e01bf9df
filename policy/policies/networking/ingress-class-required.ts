import { resourcePolicy } from "../../lib/define";

export const ingressClassRequired = resourcePolicy({
  name: "ingress-class-required",
  theme: "networking",
  severity: "medium",
  rationale: "An Ingress without a class may be served by no controller, or by the wrong one.",
  link: "https://kubernetes.io/docs/concepts/services-networking/ingress/#ingress-class",
  description:
    "Every Ingress names its controller with spec.ingressClassName (without one, any or no controller may serve it).",
  fix: 'set spec.ingressClassName (K3s\' Traefik is "traefik") instead of relying on a default class or the deprecated kubernetes.io/ingress.class annotation',
  equivalents: {},
  kinds: ["Ingress"],
  check: ({ props }) => {
    const cls = props.spec?.ingressClassName;
    if (typeof cls === "string" && cls !== "") return [];
    return props.metadata?.annotations?.["kubernetes.io/ingress.class"]
      ? [
          "the Ingress uses the deprecated kubernetes.io/ingress.class annotation, not spec.ingressClassName",
        ]
      : ["the Ingress sets no spec.ingressClassName"];
  },
});
