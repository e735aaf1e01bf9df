/**
 * Reading Traefik routes: IngressRoutes (traefik.io/v1alpha1) and Ingresses that Traefik serves,
 * with the Middlewares they reference (by name in the route's namespace, or `<ns>-<name>@kubernetescrd`
 * in an Ingress annotation).
 */
import { K8sObject, kindOf } from "./k8s";
import { StackResource } from "./define";

/** Annotation through which an Ingress served by Traefik names its middlewares. */
export const TRAEFIK_MIDDLEWARES_ANNOTATION = "traefik.ingress.kubernetes.io/router.middlewares";

export interface ExposedRoute {
  resource: StackResource;
  /** How a reviewer finds the route: the rule or the Ingress host/path. */
  label: string;
  /** Middleware keys (`namespace/name`) the route references. */
  middlewares: string[];
}

/** Whether an IngressRoute route only answers from Traefik itself (a redirect to noop@internal). */
function internalOnly(route: K8sObject): boolean {
  const services: K8sObject[] = Array.isArray(route?.services) ? route.services : [];
  return (
    services.length > 0 &&
    services.every((s) => s?.kind === "TraefikService" && String(s?.name).endsWith("@internal"))
  );
}

/** Whether an IngressRoute forwards any route to a backend (anything but Traefik's own services). */
export function forwardsToBackends(props: K8sObject): boolean {
  const routes: K8sObject[] = Array.isArray(props.spec?.routes) ? props.spec.routes : [];
  return routes.some((r) => !internalOnly(r));
}

/** Every route that forwards traffic to a backend, from IngressRoutes and Ingresses. */
export function exposedRoutes(resources: StackResource[]): ExposedRoute[] {
  const out: ExposedRoute[] = [];
  for (const r of resources) {
    const kind = kindOf(r.type);
    const ns = r.props.metadata?.namespace ?? "default";
    if (kind === "IngressRoute") {
      const routes: K8sObject[] = Array.isArray(r.props.spec?.routes) ? r.props.spec.routes : [];
      for (const route of routes) {
        if (internalOnly(route)) continue;
        const mws: K8sObject[] = Array.isArray(route?.middlewares) ? route.middlewares : [];
        out.push({
          resource: r,
          label: `route ${String(route?.match ?? "?")}`,
          middlewares: mws.map((m) => `${m?.namespace ?? ns}/${m?.name}`),
        });
      }
    } else if (kind === "Ingress") {
      const raw = r.props.metadata?.annotations?.[TRAEFIK_MIDDLEWARES_ANNOTATION];
      const refs = typeof raw === "string" ? raw.split(",").map((s) => s.trim()) : [];
      const rules: K8sObject[] = Array.isArray(r.props.spec?.rules) ? r.props.spec.rules : [];
      const hosts = rules.map((x) => x?.host ?? "*").join(", ");
      out.push({
        resource: r,
        label: `rules for ${hosts || "every host"}`,
        // `<ns>-<name>@kubernetescrd`: the namespace is the Ingress's own (Traefik's convention).
        middlewares: refs
          .filter((m) => m.endsWith("@kubernetescrd") && m.startsWith(`${ns}-`))
          .map((m) => `${ns}/${m.slice(ns.length + 1, -"@kubernetescrd".length)}`),
      });
    }
  }
  return out;
}

/** Middlewares by `namespace/name`. */
export function middlewaresByKey(resources: StackResource[]): Map<string, K8sObject> {
  const map = new Map<string, K8sObject>();
  for (const r of resources) {
    if (kindOf(r.type) !== "Middleware") continue;
    map.set(
      `${r.props.metadata?.namespace ?? "default"}/${r.props.metadata?.name ?? r.name}`,
      r.props,
    );
  }
  return map;
}
