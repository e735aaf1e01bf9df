import * as pulumi from "@pulumi/pulumi";
import { Peer } from "../apps/workload";
import type { ResourceSizes } from "../security/namespace";
import { Alertmanager, ALERTMANAGER_PORT } from "./alertmanager";
import { ReceiverSpec } from "./alertmanager-config";
import { DashboardParams } from "./dashboards";
import { Grafana, GRAFANA_PORT } from "./grafana";
import { KSM_PORT, KubeStateMetrics } from "./kube-state-metrics";
import { LOG_AGENT_PORT, LogAgent } from "./log-agent";
import { Loki, LOKI_PORT } from "./loki";
import { NodeExporter } from "./node-exporter";
import { Prometheus, PROMETHEUS_PORT, ScrapeTarget } from "./prometheus";
import { RuleParams } from "./rules";

/** Requests and limits of each part, sized for a Raspberry Pi by default (see MONITORING_DEFAULTS). */
export interface MonitoringSizes {
  prometheus: ResourceSizes;
  alertmanager: ResourceSizes;
  grafana: ResourceSizes;
  loki: ResourceSizes;
  kubeStateMetrics: ResourceSizes;
  nodeExporter: ResourceSizes;
  logAgent: ResourceSizes;
}

const size = (rc: string, rm: string, lc: string, lm: string): ResourceSizes => ({
  requests: { cpu: rc, memory: rm },
  limits: { cpu: lc, memory: lm },
});

/**
 * Pi-sized defaults: 528 MiB of memory requests in all on a one-node cluster (the DaemonSets count
 * once per node). A stack overrides any of them in config.
 */
export const MONITORING_DEFAULTS: MonitoringSizes = {
  prometheus: size("100m", "192Mi", "1", "512Mi"),
  alertmanager: size("10m", "24Mi", "100m", "64Mi"),
  grafana: size("25m", "96Mi", "500m", "192Mi"),
  loki: size("50m", "128Mi", "500m", "320Mi"),
  kubeStateMetrics: size("10m", "32Mi", "100m", "96Mi"),
  nodeExporter: size("10m", "24Mi", "200m", "48Mi"),
  logAgent: size("20m", "32Mi", "200m", "96Mi"),
};

/** The sizes the stack runs: MONITORING_DEFAULTS with the stack's overrides. */
export function monitoringSizes(overrides: Partial<MonitoringSizes> = {}): MonitoringSizes {
  return { ...MONITORING_DEFAULTS, ...overrides };
}

export interface MonitoringArgs {
  /** The monitoring namespace (Pod Security restricted). Required. */
  namespace: string;
  /** The node agents' namespace (Pod Security privileged: host access). Required. */
  nodeNamespace: string;
  /** Stack name (the `stack` label on every alert). Required. */
  stack: string;
  /**
   * Namespaces outside the monitoring stack whose annotated pods Prometheus scrapes, with their
   * metrics ports (the monitoring stack adds its own two namespaces). Required.
   */
  scrapeTargets: ScrapeTarget[];
  /** The nodes' addresses (kubelets and node-exporter listen there). Required. */
  nodeAddresses: string[];
  /** Storage class of the volumes. Defaults to the cluster's default. */
  storageClass?: string;
  /** Scrape and evaluation interval. Defaults to "30s". */
  scrapeInterval?: string;
  prometheus: { retention: string; retentionSize: string; storage: string };
  loki: { retention: string; storage: string };
  alertmanager: {
    storage: string;
    receivers: ReceiverSpec[];
    smtp?: { smarthost: string; from: string; authUsername?: string; requireTls?: boolean };
    smtpPassword?: pulumi.Input<string>;
    slackApiUrl?: pulumi.Input<string>;
  };
  /** Requests and limits per part. Defaults to MONITORING_DEFAULTS. */
  resources?: Partial<MonitoringSizes>;
  /** Alert rule parameters. Required. */
  rules: RuleParams;
  /** Dashboard parameters. Required. */
  dashboards: DashboardParams;
  /** Who may open Grafana besides kubectl port-forward (an ingress controller). Defaults to nobody. */
  grafanaClients?: Peer[];
}

/**
 * The observability stack: Prometheus (with its rules), Alertmanager, Grafana, Loki,
 * kube-state-metrics in the monitoring namespace; node-exporter and the log agent on every node
 * in the node agents' namespace.
 */
export class Monitoring extends pulumi.ComponentResource {
  public readonly prometheusUrl: pulumi.Output<string>;
  public readonly lokiUrl: pulumi.Output<string>;
  public readonly grafanaAdminSecret: pulumi.Output<string>;
  /** Prometheus' pods: targets' NetworkPolicies admit this peer on their metrics port. */
  public readonly scraper: Peer;

  constructor(name: string, args: MonitoringArgs, opts?: pulumi.ComponentResourceOptions) {
    super("auditflow:monitoring:Monitoring", name, {}, opts);
    const r = monitoringSizes(args.resources);
    const ns = args.namespace;
    const child = { parent: this };
    // Prometheus' pods, known before it exists (the components it scrapes admit them).
    const scraper: Peer = {
      podLabels: {
        "app.kubernetes.io/name": "prometheus",
        "app.kubernetes.io/instance": "prometheus",
      },
      namespace: ns,
    };
    const grafanaPeer: Peer = {
      podLabels: { "app.kubernetes.io/name": "grafana", "app.kubernetes.io/instance": "grafana" },
      namespace: ns,
    };
    const agentPeer: Peer = {
      podLabels: {
        "app.kubernetes.io/name": "fluent-bit",
        "app.kubernetes.io/instance": "fluent-bit",
      },
      namespace: args.nodeNamespace,
    };
    const alertmanager = new Alertmanager(
      `${name}-alertmanager`,
      {
        namespace: ns,
        ...args.alertmanager,
        storageClass: args.storageClass,
        resources: r.alertmanager,
        clients: [scraper],
      },
      child,
    );
    const prometheus = new Prometheus(
      `${name}-prometheus`,
      {
        namespace: ns,
        stack: args.stack,
        scrapeTargets: [
          ...args.scrapeTargets,
          {
            namespace: ns,
            ports: [PROMETHEUS_PORT, ALERTMANAGER_PORT, GRAFANA_PORT, LOKI_PORT, KSM_PORT],
          },
          // node-exporter runs on the host network: it is reached at the nodes' addresses.
          { namespace: args.nodeNamespace, ports: [LOG_AGENT_PORT] },
        ],
        nodeAddresses: args.nodeAddresses,
        scrapeInterval: args.scrapeInterval,
        ...args.prometheus,
        storageClass: args.storageClass,
        resources: r.prometheus,
        alertmanager: alertmanager.address,
        alertmanagerPeer: alertmanager.peer,
        rules: args.rules,
        clients: [grafanaPeer],
      },
      child,
    );
    const loki = new Loki(
      `${name}-loki`,
      {
        namespace: ns,
        ...args.loki,
        storageClass: args.storageClass,
        resources: r.loki,
        clients: [agentPeer, grafanaPeer, scraper],
      },
      child,
    );
    const grafana = new Grafana(
      `${name}-grafana`,
      {
        namespace: ns,
        prometheus: { url: prometheus.url, peer: prometheus.peer },
        loki: { url: loki.url, peer: loki.peer },
        scrapeInterval: args.scrapeInterval,
        dashboards: args.dashboards,
        resources: r.grafana,
        clients: args.grafanaClients,
        scraper,
      },
      child,
    );
    new KubeStateMetrics(
      `${name}-kube-state-metrics`,
      { namespace: ns, resources: r.kubeStateMetrics, scraper },
      child,
    );
    new NodeExporter(
      `${name}-node-exporter`,
      { namespace: args.nodeNamespace, resources: r.nodeExporter },
      child,
    );
    new LogAgent(
      `${name}-log-agent`,
      {
        namespace: args.nodeNamespace,
        loki: { host: loki.host, port: loki.port, peer: loki.peer },
        resources: r.logAgent,
        scraper,
      },
      child,
    );
    this.scraper = scraper;
    this.prometheusUrl = prometheus.url;
    this.lokiUrl = loki.url;
    this.grafanaAdminSecret = grafana.adminSecretName;
    this.registerOutputs({
      prometheusUrl: this.prometheusUrl,
      lokiUrl: this.lokiUrl,
      grafanaAdminSecret: this.grafanaAdminSecret,
    });
  }
}
