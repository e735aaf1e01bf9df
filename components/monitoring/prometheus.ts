import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { stringify } from "yaml";
import { Peer, Workload } from "../apps/workload";
import { recommendedLabels, selectorLabels } from "../lib/labels";
import type { ResourceSizes } from "../security/namespace";
import { monitoringImages } from "../versions";
import { ALERTMANAGER_PORT } from "./alertmanager";
import { NODE_EXPORTER_PORT } from "./node-exporter";
import { clusterReader } from "./rbac";
import { prometheusConfig } from "./prometheus-config";
import { allRuleGroups, RuleParams, ruleFile } from "./rules";

export interface PrometheusArgs {
  /** Namespace (the monitoring namespace). Required. */
  namespace: string;
  /** Stack name, the `stack` external label of every alert. Required. */
  stack: string;
  /**
   * What is scraped in each namespace: the ports its annotated pods serve metrics on. Prometheus'
   * NetworkPolicy admits exactly these ports there. Required.
   */
  scrapeTargets: ScrapeTarget[];
  /**
   * The nodes' addresses, where the kubelets (10250) and node-exporter (9100, host network)
   * listen. IPv4 addresses become /32 blocks; a DNS name cannot be named in a NetworkPolicy, so
   * with one any address is admitted on those two ports. Required (at least one).
   */
  nodeAddresses: string[];
  /** Scrape and evaluation interval, e.g. "30s". Defaults to "30s". */
  scrapeInterval?: string;
  /** Keep samples this long (Prometheus duration, e.g. "7d"). Required. */
  retention: string;
  /** ... and at most this much (e.g. "3GB"); the older blocks go first. Required. */
  retentionSize: string;
  /** Volume size (e.g. "5Gi"). Required. */
  storage: string;
  /** Storage class of the volume. Defaults to the cluster's default class. */
  storageClass?: string;
  /** Requests and limits. Required. */
  resources: ResourceSizes;
  /** Alertmanager's host:port. Required. */
  alertmanager: pulumi.Input<string>;
  /** Parameters of the alert rules. Required. */
  rules: RuleParams;
  /** Who may query Prometheus (Grafana). Defaults to nobody. */
  clients?: Peer[];
  /** Where Alertmanager runs (egress). Required. */
  alertmanagerPeer: Peer;
}

/** Prometheus' HTTP port. */
export const PROMETHEUS_PORT = 9090;
const PORT = PROMETHEUS_PORT;
/** The kubelet's HTTPS port on every node (its /metrics and /metrics/cadvisor). */
export const KUBELET_PORT = 10250;
const CONFIG_DIR = "/etc/prometheus";

/** A namespace Prometheus scrapes and the metrics ports of its annotated pods. */
export interface ScrapeTarget {
  namespace: string;
  ports: number[];
}

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

/** The nodes as NetworkPolicy peers: one /32 block each, or any address if one is a DNS name. */
function nodePeers(addresses: string[]): Peer[] {
  return addresses.every((a) => IPV4.test(a))
    ? [...new Set(addresses)].map((a) => ({ cidr: `${a}/32` }))
    : [{ cidr: "0.0.0.0/0" }];
}

function validate(name: string, args: PrometheusArgs): void {
  args.scrapeTargets.forEach((t, i) => {
    if (t.ports.length === 0 || t.ports.some((p) => !Number.isInteger(p) || p < 1 || p > 65535)) {
      throw new Error(
        `Prometheus ${name}: scrapeTargets[${i}] (namespace ${t.namespace}) must list its metrics ports, whole numbers from 1 to 65535 (got ${JSON.stringify(t.ports)})`,
      );
    }
  });
  if (args.nodeAddresses.length === 0) {
    throw new Error(`Prometheus ${name}: nodeAddresses must list at least one node address`);
  }
}

/**
 * Prometheus as a one-replica StatefulSet with its volume, scraping through Kubernetes service
 * discovery with a ClusterRole that reads nodes, nodes/metrics, services, endpoints, endpointslices
 * and pods (and GET /metrics), nothing else: no Secrets, no writes.
 */
export class Prometheus extends pulumi.ComponentResource {
  /** In-cluster URL of the HTTP API. */
  public readonly url: pulumi.Output<string>;
  public readonly peer: Peer;

  constructor(name: string, args: PrometheusArgs, opts?: pulumi.ComponentResourceOptions) {
    super("auditflow:monitoring:Prometheus", name, {}, opts);
    validate(name, args);
    const identity = { name: "prometheus", component: "monitoring" };
    const labels = recommendedLabels(identity);
    const config = new k8s.core.v1.ConfigMap(
      `${name}-config`,
      {
        metadata: { namespace: args.namespace, labels },
        data: pulumi.output(args.alertmanager).apply((alertmanager) => ({
          "prometheus.yml": stringify(
            prometheusConfig({
              namespaces: [...new Set(args.scrapeTargets.map((t) => t.namespace))],
              scrapeInterval: args.scrapeInterval ?? "30s",
              alertmanager,
              ruleFile: `${CONFIG_DIR}/rules.yml`,
              stack: args.stack,
            }),
          ),
          "rules.yml": stringify(ruleFile(allRuleGroups(args.rules)), { lineWidth: 0 }),
        })),
      },
      { parent: this },
    );

    const workload = new Workload(
      name,
      {
        namespace: args.namespace,
        identity,
        kind: "StatefulSet",
        replicas: 1,
        automountServiceAccountToken: true,
        podSecurity: { runAsUser: 65534 },
        // Prometheus scrapes itself through the same contract as every other target.
        podAnnotations: { "prometheus.io/scrape": "true", "prometheus.io/port": String(PORT) },
        containers: [
          {
            name: "prometheus",
            image: monitoringImages.prometheus,
            args: [
              `--config.file=${CONFIG_DIR}/prometheus.yml`,
              "--storage.tsdb.path=/prometheus",
              `--storage.tsdb.retention.time=${args.retention}`,
              `--storage.tsdb.retention.size=${args.retentionSize}`,
              `--web.listen-address=:${PORT}`,
            ],
            ports: [{ name: "http", containerPort: PORT }],
            resources: args.resources,
            startupProbe: {
              httpGet: { path: "/-/ready", port: "http" },
              periodSeconds: 10,
              failureThreshold: 60,
            },
            livenessProbe: {
              httpGet: { path: "/-/healthy", port: "http" },
              periodSeconds: 15,
              failureThreshold: 4,
            },
            readinessProbe: { httpGet: { path: "/-/ready", port: "http" }, periodSeconds: 10 },
            volumeMounts: [{ name: "config", mountPath: CONFIG_DIR, readOnly: true }],
          },
        ],
        volumes: [{ name: "config", configMap: { name: config.metadata.name } }],
        persistentVolume: {
          name: "data",
          mountPath: "/prometheus",
          size: args.storage,
          storageClass: args.storageClass,
        },
        // Itself (it scrapes its own /metrics) and its clients.
        ingress: [
          {
            from: [{ podLabels: selectorLabels(identity) }, ...(args.clients ?? [])],
            ports: [PORT],
          },
        ],
        egress: [
          // Annotated pods in the scraped namespaces, on their metrics ports only.
          ...args.scrapeTargets.map((t) => ({ to: [{ namespace: t.namespace }], ports: t.ports })),
          { to: [args.alertmanagerPeer], ports: [ALERTMANAGER_PORT] },
          // Kubelets and node-exporter (host network) listen on the nodes' addresses, which a
          // NetworkPolicy can only name as IP blocks. (The API server, 6443, is admitted by the
          // namespace's own policy.)
          { to: nodePeers(args.nodeAddresses), ports: [KUBELET_PORT, NODE_EXPORTER_PORT] },
        ],
      },
      { parent: this },
    );

    clusterReader(
      name,
      {
        labels,
        rules: [
          {
            apiGroups: [""],
            resources: ["nodes", "nodes/metrics", "services", "endpoints", "pods"],
            verbs: ["get", "list", "watch"],
          },
          {
            apiGroups: ["discovery.k8s.io"],
            resources: ["endpointslices"],
            verbs: ["get", "list", "watch"],
          },
          // The API server's (K3s') own metrics.
          { nonResourceURLs: ["/metrics"], verbs: ["get"] },
        ],
        serviceAccount: { name: workload.serviceAccountName, namespace: args.namespace },
      },
      this,
    );

    this.peer = workload.peer;
    this.url = pulumi.interpolate`http://${workload.host!}:${PORT}`;
    this.registerOutputs({ url: this.url });
  }
}
