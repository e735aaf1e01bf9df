import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { Connection, connectionEgress, connectionEnv } from "../contracts";
import type { ResourceSizes } from "../security/namespace";
import { parseImage } from "../lib/image";
import { recommendedLabels, selectorLabels } from "../lib/labels";
import { AnalysisRule, renderRules, RULES_DIR } from "./analysis-rules";
import { ServiceName, ServiceTraits } from "./catalog";
import { Autoscaling, Peer, Workload } from "./workload";

/**
 * The metrics contract every AuditFlow service keeps: Prometheus text format at
 * `GET /metrics` on the container port named `metrics` (METRICS_PORT in its environment), apart
 * from the API port so that scraping never competes with requests. Pods also carry the
 * prometheus.io/scrape, /port and /path annotations for scrapers that discover by annotation.
 */
export const METRICS = { portName: "metrics", port: 9464, path: "/metrics" } as const;

/**
 * Shutdown: the kubelet first sleeps PRESTOP_SECONDS (so endpoints, kube-proxy and Traefik stop
 * routing to the pod), then sends SIGTERM; the app stops accepting, finishes in-flight work within
 * its catalog drainSeconds (SHUTDOWN_TIMEOUT_SECONDS in its environment) and exits. The grace
 * period covers both plus a margin for the process to exit before SIGKILL.
 */
export const PRESTOP_SECONDS = 10;
const EXIT_MARGIN_SECONDS = 5;
/** Image pull allowance (a cold pull on a Raspberry Pi) in the progress deadline. */
const PULL_ALLOWANCE_SECONDS = 300;

/** Termination grace of a service: preStop sleep, its drain time and a margin to exit. */
export function terminationGraceSeconds(t: Pick<ServiceTraits, "drainSeconds">): number {
  return PRESTOP_SECONDS + t.drainSeconds + EXIT_MARGIN_SECONDS;
}

/**
 * Seconds a rollout may go without a new pod becoming available: a cold image pull, the startup
 * probe's whole budget and two readiness periods. Past it the Deployment reports
 * ProgressDeadlineExceeded and `pulumi up` fails instead of waiting on a stuck rollout.
 */
export function progressDeadlineSeconds(t: Pick<ServiceTraits, "startupSeconds">): number {
  return PULL_ALLOWANCE_SECONDS + t.startupSeconds + 2 * 5;
}

export interface AuditFlowServiceArgs {
  /** Which of the four services this is. Required. */
  service: ServiceName;
  /** What the service is (port, health paths, dependencies), from the catalog. Required. */
  traits: ServiceTraits;
  /** Namespace to deploy into. Required. */
  namespace: pulumi.Input<string>;
  /** Image reference, exact tag or digest (a built image's `repo@sha256:...` Output). Required. */
  image: pulumi.Input<string>;
  /** `app.kubernetes.io/version`. Defaults to the image's tag (none for a digest Output). */
  version?: string;
  /** Fixed pod count. Required unless autoscaling is set; not allowed with it. */
  replicas?: number;
  /** Autoscale with a HorizontalPodAutoscaler instead of a fixed count. Defaults to none. */
  autoscaling?: Autoscaling;
  /**
   * Analysis rules, rendered into the ConfigMap `<service>-rules` mounted at RULES_DIR (only for a
   * service whose traits say it reads rules). Defaults to none (no ConfigMap, no mount).
   */
  rules?: readonly AnalysisRule[];
  /** Namespace whose pods (Prometheus) may scrape the metrics port. Defaults to "monitoring". */
  metricsNamespace?: string;
  /**
   * What the Deployment waits for, e.g. the service's migration Job: Pulumi rolls out a new version
   * only after it succeeded. Defaults to nothing.
   */
  after?: pulumi.Resource[];
  /** Container requests and limits. Required. */
  resources: ResourceSizes;
  /** Node names and/or architecture to run on. Defaults to anywhere. */
  placement?: { nodes?: readonly string[]; arch?: "arm64" | "amd64" };
  /** Extra plain (non-secret) environment variables. Defaults to none. */
  env?: Readonly<Record<string, string>>;
  /**
   * Connections to the data services the traits list in `uses`: each must be present, and no other
   * kind. Defaults to none (valid only for a service that uses no data service).
   */
  connections?: readonly Connection[];
  /** Peers of the services that call this one's API (from traits.calledBy). Defaults to none. */
  callers?: readonly Peer[];
  /**
   * Services whose HTTP API this one calls: each gets `<NAME>_URL` (e.g. AUDIT_LOG_ANALYSIS_URL)
   * and NetworkPolicy egress to its pods on its port. Defaults to none.
   */
  upstreams?: readonly Upstream[];
}

/** Another service's HTTP API as a caller sees it. */
export interface Upstream {
  service: ServiceName;
  /** Base URL, e.g. http://audit-log-analysis.auditflow.svc.cluster.local:8000. */
  url: pulumi.Input<string>;
  peer: Peer;
  port: number;
}

/** The environment variable that carries an upstream's base URL. */
export const upstreamEnvName = (s: ServiceName) => `${s.toUpperCase().replace(/-/g, "_")}_URL`;

/**
 * One AuditFlow service: its Workload (Deployment, Service, ServiceAccount, NetworkPolicy, PDB)
 * with connection settings from the data services' contracts and HTTP probes on its health paths.
 */
export class AuditFlowService extends pulumi.ComponentResource {
  /** In-cluster DNS name of the service's API. */
  public readonly host: pulumi.Output<string>;
  /** The service's HTTP port. */
  public readonly port: number;
  /** Peer selecting the service's pods. */
  public readonly peer: Peer;
  /** The underlying workload. */
  public readonly workload: Workload;
  /** The image reference the service runs. */
  public readonly image: pulumi.Output<string>;
  /** Its digest (`sha256:...`), or null when the reference has only a tag. */
  public readonly digest: pulumi.Output<string | null>;
  /** Name of the rules ConfigMap; undefined without rules. */
  public readonly rulesConfigMap?: pulumi.Output<string>;

  /**
   * The pods of `service` in `namespace`, for the NetworkPolicies of components created before the
   * service (the data services it calls); the same selector the service's Workload uses.
   */
  static peer(service: string, namespace: pulumi.Input<string>): Peer {
    return { podLabels: selectorLabels({ name: service }), namespace };
  }

  constructor(name: string, args: AuditFlowServiceArgs, opts?: pulumi.ComponentResourceOptions) {
    super("auditflow:apps:AuditFlowService", name, {}, opts);
    const connections = args.connections ?? [];
    for (const need of args.traits.uses) {
      if (!connections.some((c) => c.kind === need)) {
        throw new Error(
          `AuditFlowService ${args.service}: connections must include a "${need}" connection (the service uses ${args.traits.uses.join(", ")})`,
        );
      }
    }
    for (const c of connections) {
      if (!args.traits.uses.includes(c.kind)) {
        throw new Error(
          `AuditFlowService ${args.service}: got a "${c.kind}" connection it does not use; allowed kinds are ${args.traits.uses.join(", ") || "none"}`,
        );
      }
    }
    if (args.rules && !args.traits.readsRules) {
      throw new Error(
        `AuditFlowService ${args.service}: rules are only allowed for a service that reads analysis rules (its traits' readsRules)`,
      );
    }
    const t = args.traits;
    this.image = pulumi.output(args.image);
    this.digest = this.image.apply((ref) => {
      const parsed = parseImage(ref);
      return ("digest" in parsed && parsed.digest) || null;
    });
    const http = (path: string) => ({ httpGet: { path, port: "http" } });
    this.port = t.port;
    // The rules ConfigMap has a stable name: the pod template refers to the name only, so a rules
    // change updates the ConfigMap in place and the kubelet refreshes the mounted directory, with
    // no new ReplicaSet and no restart (an auto-named ConfigMap would be replaced on every change,
    // and the new name would roll the pods).
    const rules = args.rules
      ? new k8s.core.v1.ConfigMap(
          `${name}-rules`,
          {
            metadata: {
              name: `${args.service}-rules`,
              namespace: args.namespace,
              labels: recommendedLabels({ name: args.service, component: t.component }),
            },
            data: renderRules(args.rules),
          },
          { parent: this },
        )
      : undefined;
    this.rulesConfigMap = rules?.metadata.name;
    this.workload = new Workload(
      name,
      {
        namespace: args.namespace,
        identity: { name: args.service, component: t.component, version: args.version },
        replicas: args.replicas,
        autoscaling: args.autoscaling,
        dependsOn: args.after,
        placement: args.placement,
        terminationGracePeriodSeconds: terminationGraceSeconds(t),
        progressDeadlineSeconds: progressDeadlineSeconds(t),
        podAnnotations: {
          "prometheus.io/scrape": "true",
          "prometheus.io/port": String(METRICS.port),
          "prometheus.io/path": METRICS.path,
        },
        volumes: rules ? [{ name: "rules", configMap: { name: rules.metadata.name } }] : undefined,
        containers: [
          {
            name: "app",
            image: args.image,
            ports: [
              { name: "http", containerPort: t.port },
              { name: METRICS.portName, containerPort: METRICS.port },
            ],
            env: [
              { name: "SERVICE_NAME", value: args.service },
              { name: "PORT", value: String(t.port) },
              { name: "METRICS_PORT", value: String(METRICS.port) },
              { name: "SHUTDOWN_TIMEOUT_SECONDS", value: String(t.drainSeconds) },
              ...(rules ? [{ name: "RULES_DIR", value: RULES_DIR }] : []),
              ...Object.entries(args.env ?? {}).map(([k, v]) => ({ name: k, value: v })),
              ...connections.flatMap(connectionEnv),
              ...(args.upstreams ?? []).map((u) => ({
                name: upstreamEnvName(u.service),
                value: u.url,
              })),
            ],
            resources: args.resources,
            startupProbe: {
              ...http(t.livenessPath),
              periodSeconds: 5,
              failureThreshold: Math.ceil(t.startupSeconds / 5),
            },
            livenessProbe: {
              ...http(t.livenessPath),
              periodSeconds: 10,
              timeoutSeconds: 2,
              failureThreshold: 3,
            },
            readinessProbe: {
              ...http(t.readinessPath),
              periodSeconds: 5,
              timeoutSeconds: 2,
              failureThreshold: 2,
            },
            preStopSleepSeconds: PRESTOP_SECONDS,
            // A directory mount (never subPath, which the kubelet does not refresh).
            volumeMounts: rules ? [{ name: "rules", mountPath: RULES_DIR, readOnly: true }] : [],
          },
        ],
        ingress: [
          ...(args.callers?.length ? [{ from: [...args.callers], ports: [t.port] }] : []),
          { from: [{ namespace: args.metricsNamespace ?? "monitoring" }], ports: [METRICS.port] },
        ],
        egress: [
          ...connections.map(connectionEgress),
          ...(args.upstreams ?? []).map((u) => ({ to: [u.peer], ports: [u.port] })),
        ],
      },
      { parent: this },
    );
    this.host = this.workload.host!;
    this.peer = this.workload.peer;
    this.registerOutputs({ host: this.host, image: this.image, digest: this.digest });
  }
}
