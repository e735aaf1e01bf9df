import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { recommendedLabels } from "../lib/labels";
import type { Peer } from "../apps/workload";
import type { IssuerRef } from "./certificate-issuers";
import { Certificate, IngressRoute, Middleware, MiddlewareSpec } from "./crds";
import { ENTRY_POINTS, traefikPeer } from "./traefik-config";

/** A per-client token bucket: `average` requests per second, `burst` at once. */
export interface RateLimit {
  average: number;
  burst: number;
}

/** A backend the endpoint routes to: its Service and the pods behind it. */
export interface Backend {
  /** Service name in the endpoint's namespace. */
  serviceName: pulumi.Input<string>;
  /** Service port. */
  port: number;
  /** Peer selecting the backend's pods (its Workload's `peer`). */
  peer: Peer;
}

/** A set of names served with one certificate from one issuer. */
export interface Site {
  /** Short name for the site's objects (e.g. "public", "internal"). */
  name: string;
  /** Host names (DNS names) of the site. */
  hosts: string[];
  /** The ClusterIssuer that signs the site's certificate. */
  issuer: IssuerRef;
  /** Whether the issuer solves HTTP-01 through Traefik (its solver pods must be reachable). */
  http01?: boolean;
}

export interface PublicEndpointArgs {
  /** Namespace of the backends; routes, middlewares and certificates are created there. Required. */
  namespace: pulumi.Input<string>;
  /** The sites (host names and their certificate issuer). Required, at least one. */
  sites: Site[];
  /** The dashboard, served at `/`. Required. */
  dashboard: Backend;
  /** The analysis API, served at `/api`. Required. */
  api: Backend;
  /** Path of the dashboard's live WebSocket feed (no body buffering there). Defaults to "/live". */
  livePath?: string;
  /** Rate limit of the dashboard routes. Required (the audit asks for 200/s). */
  generalRateLimit: RateLimit;
  /** Rate limit of the API route. Required (the audit asks for 500/s). */
  apiRateLimit: RateLimit;
  /** Largest request body accepted, in bytes (413 beyond). Required. */
  maxRequestBodyBytes: number;
  /** Certificate lifetime asked of the issuer (ACME CAs choose their own). Defaults to "2160h". */
  certificateDuration?: string;
  /** How long before expiry cert-manager renews. Defaults to "720h" (30 days). */
  renewBefore?: string;
  /** The Traefik pods admitted to the backends. Defaults to K3s' bundled Traefik. */
  traefik?: { podLabels: Record<string, string>; namespace: string };
}

/** The Content-Security-Policy of the dashboard and API: same origin only, no framing. */
export const CONTENT_SECURITY_POLICY =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
  "connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'; object-src 'none'";

/**
 * The platform's front door on K3s' Traefik: per site, a cert-manager Certificate and an IngressRoute
 * on HTTPS with the dashboard at `/` (WebSocket on its live path) and the analysis API at `/api`,
 * plus an HTTP route that redirects to HTTPS; Middlewares for per-client rate limits, security
 * headers and a request body limit; NetworkPolicies admitting exactly Traefik to the backends.
 *
 * Rate limits are Traefik's in-memory token buckets, one per router and Traefik replica: each
 * replica admits `average`/s per client by itself (see README "Ingress").
 */
export class PublicEndpoint extends pulumi.ComponentResource {
  /** The Secrets cert-manager writes each site's certificate into, by site name. */
  public readonly tlsSecrets: Record<string, string>;
  /** The Middleware names, by role. */
  public readonly middlewares: Record<
    "generalRateLimit" | "apiRateLimit" | "headers" | "bodyLimit" | "redirect",
    string
  >;

  constructor(name: string, args: PublicEndpointArgs, opts?: pulumi.ComponentResourceOptions) {
    super("auditflow:ingress:PublicEndpoint", name, {}, opts);
    validate(name, args);
    const labels = recommendedLabels({ name, component: "ingress" });
    const child = { parent: this };
    const ns = args.namespace;
    const livePath = args.livePath ?? "/live";

    // Middlewares are referred to by name from the routes, so their names are fixed.
    this.middlewares = {
      generalRateLimit: `${name}-ratelimit-general`,
      apiRateLimit: `${name}-ratelimit-api`,
      headers: `${name}-security-headers`,
      bodyLimit: `${name}-body-limit`,
      redirect: `${name}-redirect-https`,
    };
    const mw = (key: keyof typeof this.middlewares, spec: MiddlewareSpec) =>
      new Middleware(
        this.middlewares[key],
        { metadata: { name: this.middlewares[key], namespace: ns, labels }, spec },
        child,
      );
    // Per client IP (the connection's remote address: Traefik keeps client addresses, see
    // TraefikConfig); period 1s, so `average` is requests per second.
    const rate = (r: RateLimit) => ({
      rateLimit: { average: r.average, period: "1s", burst: r.burst },
    });
    mw("generalRateLimit", rate(args.generalRateLimit));
    mw("apiRateLimit", rate(args.apiRateLimit));
    mw("headers", {
      headers: {
        stsSeconds: 31536000,
        stsIncludeSubdomains: true,
        forceSTSHeader: true,
        frameDeny: true,
        contentTypeNosniff: true,
        referrerPolicy: "strict-origin-when-cross-origin",
        contentSecurityPolicy: CONTENT_SECURITY_POLICY,
        permissionsPolicy: "camera=(), microphone=(), geolocation=()",
      },
    });
    mw("bodyLimit", {
      buffering: { maxRequestBodyBytes: args.maxRequestBodyBytes, memRequestBodyBytes: 1048576 },
    });
    mw("redirect", { redirectScheme: { scheme: "https", permanent: true } });

    const ref = (n: string) => ({ name: n, namespace: ns });
    const m = this.middlewares;
    this.tlsSecrets = {};
    for (const site of args.sites) {
      const hosts = site.hosts.map((h) => `Host(\`${h}\`)`).join(" || ");
      const on = (path: string) => `(${hosts}) && PathPrefix(\`${path}\`)`;
      const secretName = `${name}-${site.name}-tls`;
      this.tlsSecrets[site.name] = secretName;
      new Certificate(
        `${name}-${site.name}`,
        {
          metadata: { name: `${name}-${site.name}`, namespace: ns, labels },
          spec: {
            secretName,
            dnsNames: site.hosts,
            duration: args.certificateDuration ?? "2160h",
            renewBefore: args.renewBefore ?? "720h",
            privateKey: { algorithm: "ECDSA", size: 256, rotationPolicy: "Always" },
            issuerRef: site.issuer,
          },
        },
        child,
      );
      new IngressRoute(
        `${name}-${site.name}`,
        {
          metadata: { namespace: ns, labels },
          spec: {
            entryPoints: [ENTRY_POINTS.https],
            routes: [
              {
                kind: "Rule",
                match: on("/api"),
                priority: 30,
                middlewares: [ref(m.headers), ref(m.apiRateLimit), ref(m.bodyLimit)],
                services: [{ name: args.api.serviceName, port: args.api.port }],
              },
              {
                // The live feed is a WebSocket: Traefik proxies the upgrade; no body buffering.
                kind: "Rule",
                match: on(livePath),
                priority: 20,
                middlewares: [ref(m.headers), ref(m.generalRateLimit)],
                services: [{ name: args.dashboard.serviceName, port: args.dashboard.port }],
              },
              {
                kind: "Rule",
                match: on("/"),
                priority: 10,
                middlewares: [ref(m.headers), ref(m.generalRateLimit), ref(m.bodyLimit)],
                services: [{ name: args.dashboard.serviceName, port: args.dashboard.port }],
              },
            ],
            tls: { secretName },
          },
        },
        child,
      );
      new IngressRoute(
        `${name}-${site.name}-http`,
        {
          metadata: { namespace: ns, labels },
          spec: {
            entryPoints: [ENTRY_POINTS.http],
            // No explicit priority: cert-manager's HTTP-01 solver Ingress has a longer rule
            // (host and challenge path), so it wins over this redirect by Traefik's default.
            routes: [
              {
                kind: "Rule",
                match: hosts,
                middlewares: [ref(m.redirect)],
                services: [{ name: "noop@internal", kind: "TraefikService" }],
              },
            ],
          },
        },
        child,
      );
    }

    // Exactly Traefik may reach the backends, on their service ports.
    const traefik = args.traefik ?? traefikPeer;
    const traefikFrom = {
      podSelector: { matchLabels: traefik.podLabels },
      namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": traefik.namespace } },
    };
    const admit = (id: string, podLabels: Record<string, string>, port: number, extra = {}) =>
      new k8s.networking.v1.NetworkPolicy(
        `${name}-${id}`,
        {
          metadata: { namespace: ns, labels, ...extra },
          spec: {
            podSelector: { matchLabels: podLabels },
            policyTypes: ["Ingress"],
            ingress: [{ from: [traefikFrom], ports: [{ protocol: "TCP", port }] }],
          },
        },
        child,
      );
    admit("dashboard-from-traefik", args.dashboard.peer.podLabels!, args.dashboard.port);
    admit("api-from-traefik", args.api.peer.podLabels!, args.api.port);
    if (args.sites.some((s) => s.http01)) {
      // cert-manager starts an HTTP-01 solver pod in the Certificate's namespace while an order
      // is open; the CA reaches it through Traefik on port 8089.
      admit("acme-solver-from-traefik", { "acme.cert-manager.io/http01-solver": "true" }, 8089, {
        annotations: {
          "policy.auditflow.dev/exempt": "network-policy-selects-pods",
          "policy.auditflow.dev/exempt-reason":
            "cert-manager creates the HTTP-01 solver pods only while a certificate order is open",
        },
      });
    }
    this.registerOutputs({ tlsSecrets: this.tlsSecrets });
  }
}

function validate(name: string, args: PublicEndpointArgs): void {
  const fail = (msg: string): never => {
    throw new Error(`PublicEndpoint ${name}: ${msg}`);
  };
  if (args.sites.length === 0) fail("sites must list at least one site");
  const seen = new Set<string>();
  for (const s of args.sites) {
    if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(s.name)) {
      fail(`sites[].name "${s.name}" must be a DNS-1123 label`);
    }
    if (s.hosts.length === 0) fail(`site ${s.name}: hosts must list at least one name`);
    for (const h of s.hosts) {
      if (seen.has(h)) fail(`host ${h} appears in two sites; a name belongs to one certificate`);
      seen.add(h);
    }
  }
  for (const [key, r] of [
    ["generalRateLimit", args.generalRateLimit],
    ["apiRateLimit", args.apiRateLimit],
  ] as const) {
    if (
      !Number.isInteger(r.average) ||
      r.average < 1 ||
      !Number.isInteger(r.burst) ||
      r.burst < 1
    ) {
      fail(
        `${key} must have whole-number average and burst of at least 1 (got ${r.average}/${r.burst})`,
      );
    }
  }
  if (!Number.isInteger(args.maxRequestBodyBytes) || args.maxRequestBodyBytes < 1) {
    fail(
      `maxRequestBodyBytes must be a whole number of bytes >= 1 (got ${args.maxRequestBodyBytes})`,
    );
  }
  if (args.livePath !== undefined && !/^\/[a-z0-9][-a-z0-9/]*$/.test(args.livePath)) {
    fail(`livePath "${args.livePath}" must be a path such as /live`);
  }
  if (!args.dashboard.peer.podLabels || !args.api.peer.podLabels) {
    fail("dashboard.peer and api.peer must select pods by label");
  }
}
