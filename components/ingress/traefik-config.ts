import * as pulumi from "@pulumi/pulumi";
import { stringify } from "yaml";
import { recommendedLabels } from "../lib/labels";
import type { Peer } from "../apps/workload";
import type { ResourceSizes } from "../security/namespace";
import { HelmChartConfig } from "./crds";

/** Where K3s installs its bundled Traefik: the HelmChart `traefik` in kube-system. */
export const K3S_TRAEFIK = { name: "traefik", namespace: "kube-system" } as const;

/**
 * The pods of K3s' Traefik: the chart labels them with its name and `<release>-<namespace>` as the
 * instance. Other components admit exactly these pods in their NetworkPolicies.
 */
export const traefikPeer: Required<Pick<Peer, "podLabels">> & { namespace: string } = {
  podLabels: {
    "app.kubernetes.io/name": "traefik",
    "app.kubernetes.io/instance": `${K3S_TRAEFIK.name}-${K3S_TRAEFIK.namespace}`,
  },
  namespace: K3S_TRAEFIK.namespace,
};

/** Traefik's entry points as the K3s chart names them, and the port of its Prometheus metrics. */
export const ENTRY_POINTS = { http: "web", https: "websecure" } as const;
export const TRAEFIK_METRICS_PORT = 9100;

export interface TraefikConfigArgs {
  /** Traefik pods; more than one gets a PodDisruptionBudget and spreads over nodes. Required. */
  replicas: number;
  /** Requests and limits of the Traefik container. Required. */
  resources: ResourceSizes;
  /**
   * Where Traefik runs. "servers": one pod on every K3s server (a DaemonSet), for clusters whose
   * LoadBalancer address is a kube-vip virtual IP held by one server at a time: with the Local
   * traffic policy that server must run Traefik itself. `replicas` is then the servers' count.
   * Defaults to "anywhere" (a Deployment of `replicas` pods).
   */
  placement?: "anywhere" | "servers";
}

/**
 * Configures the Traefik that K3s bundles, through a HelmChartConfig (K3s merges its values into
 * the bundled chart; the name and namespace must be the chart's). Sets replicas and resources,
 * access logs as JSON on stdout (for Loki), Prometheus metrics on their own port, and keeps the
 * client address so per-client rate limits see real clients.
 */
export class TraefikConfig extends pulumi.ComponentResource {
  /** The peer matching Traefik's pods, for NetworkPolicies of the services it routes to. */
  public readonly peer: Peer = traefikPeer;
  /** The values document given to the chart (for tests and review). */
  public readonly values: Record<string, unknown>;

  constructor(name: string, args: TraefikConfigArgs, opts?: pulumi.ComponentResourceOptions) {
    super("auditflow:ingress:TraefikConfig", name, {}, opts);
    if (!Number.isInteger(args.replicas) || args.replicas < 1 || args.replicas > 10) {
      throw new Error(
        `TraefikConfig ${name}: replicas must be a whole number from 1 to 10 (got ${args.replicas})`,
      );
    }
    this.values = traefikValues(args);
    new HelmChartConfig(
      name,
      {
        // K3s matches a HelmChartConfig to its bundled chart by name and namespace.
        metadata: {
          name: K3S_TRAEFIK.name,
          namespace: K3S_TRAEFIK.namespace,
          labels: recommendedLabels({ name: "traefik", component: "ingress" }),
        },
        spec: { valuesContent: stringify(this.values) },
      },
      { parent: this },
    );
    this.registerOutputs({});
  }
}

/** The chart values (traefik-helm-chart v3x keys). */
export function traefikValues(args: TraefikConfigArgs): Record<string, unknown> {
  const replicated = args.replicas > 1;
  const onServers = args.placement === "servers";
  return {
    deployment: {
      ...(onServers ? { kind: "DaemonSet" } : { replicas: args.replicas }),
      // The platform's scrape contract (README "The services at run time": Metrics).
      podAnnotations: {
        "prometheus.io/scrape": "true",
        "prometheus.io/port": String(TRAEFIK_METRICS_PORT),
        "prometheus.io/path": "/metrics",
      },
    },
    ...(onServers ? { nodeSelector: { "node-role.kubernetes.io/control-plane": "true" } } : {}),
    resources: args.resources,
    podDisruptionBudget: replicated ? { enabled: true, maxUnavailable: 1 } : { enabled: false },
    // One Traefik per node where possible: a node's ServiceLB sends its traffic to local pods.
    topologySpreadConstraints:
      replicated && !onServers
        ? [
            {
              maxSkew: 1,
              topologyKey: "kubernetes.io/hostname",
              whenUnsatisfiable: "ScheduleAnyway",
              labelSelector: { matchLabels: traefikPeer.podLabels },
            },
          ]
        : [],
    logs: {
      general: { format: "json", level: "INFO" },
      access: {
        enabled: true,
        format: "json",
        // Keep what an operator needs to trace a request; drop headers that carry credentials.
        fields: {
          general: { defaultmode: "keep" },
          headers: {
            defaultmode: "drop",
            names: { "User-Agent": "keep", "X-Request-Id": "keep", Authorization: "drop" },
          },
        },
      },
    },
    metrics: {
      prometheus: {
        entryPoint: "metrics",
        addEntryPointsLabels: true,
        addRoutersLabels: true,
        addServicesLabels: true,
      },
    },
    ports: {
      metrics: { port: TRAEFIK_METRICS_PORT, expose: { default: false } },
      web: { expose: { default: true } },
      websecure: { expose: { default: true } },
    },
    // Local traffic policy keeps the client's source address (ServiceLB and kube-proxy SNAT it
    // otherwise), which the per-client rate limits and the access log depend on.
    service: { spec: { externalTrafficPolicy: "Local" } },
    providers: {
      kubernetesCRD: {
        enabled: true,
        allowCrossNamespace: false,
        allowExternalNameServices: false,
      },
      kubernetesIngress: { enabled: true, allowExternalNameServices: false },
    },
    // No dashboard route on the public entry points.
    ingressRoute: { dashboard: { enabled: false } },
    globalArguments: ["--global.checknewversion=false", "--global.sendanonymoususage=false"],
  };
}
