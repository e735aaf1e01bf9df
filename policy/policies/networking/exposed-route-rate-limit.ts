import { stackPolicy } from "../../lib/define";
import { exposedRoutes, middlewaresByKey } from "../../lib/routes";

export const exposedRouteRateLimit = stackPolicy({
  name: "exposed-route-rate-limit",
  theme: "networking",
  severity: "medium",
  rationale: "A public route without a rate limit lets one client exhaust the service.",
  link: "https://doc.traefik.io/traefik/middlewares/http/ratelimit/",
  description:
    "Every route Traefik exposes (IngressRoute routes and Ingresses) passes through a rateLimit Middleware of the stack.",
  fix: "reference a Middleware with spec.rateLimit in the route's middlewares (or the Ingress's traefik.ingress.kubernetes.io/router.middlewares annotation)",
  equivalents: {},
  check: (resources) => {
    const middlewares = middlewaresByKey(resources);
    return exposedRoutes(resources)
      .filter((route) => !route.middlewares.some((m) => middlewares.get(m)?.spec?.rateLimit))
      .map((route) => {
        const missing = route.middlewares.filter((m) => !middlewares.has(m));
        const r = route.resource;
        return {
          urn: r.urn,
          problem:
            `${r.props.kind ?? "route"} ${r.props.metadata?.name ?? r.name}: ${route.label} has no rate limit` +
            (missing.length ? ` (middlewares not found in the stack: ${missing.join(", ")})` : ""),
        };
      });
  },
});
