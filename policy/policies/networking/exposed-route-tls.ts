import { resourcePolicy } from "../../lib/define";
import { forwardsToBackends } from "../../lib/routes";

export const exposedRouteTls = resourcePolicy({
  name: "exposed-route-tls",
  theme: "networking",
  severity: "high",
  rationale: "A public route without TLS sends credentials and data in clear text.",
  link: "https://kubernetes.io/docs/concepts/services-networking/ingress/#tls",
  description:
    "Every Traefik IngressRoute that forwards to a backend terminates TLS (only a redirect may be served without it).",
  fix: "add spec.tls with the secretName of a cert-manager Certificate covering the route's hosts, and serve it on the websecure entry point",
  equivalents: {},
  kinds: ["IngressRoute"],
  check: ({ props }) => {
    if (!forwardsToBackends(props)) return [];
    const tls = props.spec?.tls;
    if (!tls) return ["the IngressRoute forwards to a backend without TLS (no spec.tls)"];
    if (!tls.secretName && !tls.certResolver && !tls.store) {
      return ["spec.tls names no certificate (secretName, certResolver or store)"];
    }
    return [];
  },
});
