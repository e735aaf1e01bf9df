import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { stringify } from "yaml";
import { Peer, Workload } from "../apps/workload";
import { recommendedLabels, selectorLabels } from "../lib/labels";
import type { ResourceSizes } from "../security/namespace";
import { monitoringImages } from "../versions";
import { clusterReader } from "./rbac";
import { prometheusConfig } from "./prometheus-config";
import { allRuleGroups, RuleParams, ruleFile } from "./rules";

export interface PrometheusArgs {
  /** Namespace (the monitoring namespace). Required. */
  namespace: string;
  /** Stack name, the `stack` external label of every alert. Required. */
  stack: string;
  /** Namespaces whose annotated pods are scraped. Required. */
  scrapeNamespaces: string[];
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

const PORT = 9090;
const CONFIG_DIR = "/etc/prometheus";

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
    const identity = { name: "prometheus", component: "monitoring" };
    const labels = recommendedLabels(identity);
    const config = new k8s.core.v1.ConfigMap(
      `${name}-config`,
      {
        metadata: { namespace: args.namespace, labels },
        data: pulumi.output(args.alertmanager).apply((alertmanager) => ({
          "prometheus.yml": stringify(
            prometheusConfig({
              namespaces: args.scrapeNamespaces,
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
          // Annotated pods in the scraped namespaces, on whatever port they annotate.
          ...args.scrapeNamespaces.map((namespace) => ({ to: [{ namespace }], ports: [] })),
          { to: [args.alertmanagerPeer], ports: [9093] },
          // Kubelets (10250) and node-exporter (9100, host network) listen on the nodes'
          // addresses, which NetworkPolicies can only name as IP blocks; the ports limit it.
          { to: [{ cidr: "0.0.0.0/0" }], ports: [10250, 9100] },
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
