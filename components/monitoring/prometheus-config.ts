/**
 * The Prometheus configuration: scrape jobs through Kubernetes service discovery, the rule file
 * and the Alertmanager. Pure (no Pulumi), so the conformance tier checks exactly what is deployed.
 *
 * Scrape contract (the README repeats it): a pod in one of the scraped namespaces is scraped when
 * it carries the annotations `prometheus.io/scrape: "true"` and `prometheus.io/port: "<port>"`, at
 * `prometheus.io/path` (default /metrics). Its `job` label is the pod's `app.kubernetes.io/name`, and
 * the targets get `namespace`, `pod` and `node` labels. The pod's NetworkPolicy must admit the
 * monitoring namespace on that port.
 */

export interface ScrapeConfigParams {
  /** Namespaces whose annotated pods are scraped (the stack's namespaces and kube-system). */
  namespaces: string[];
  /** Scrape and rule evaluation interval, e.g. 30s. */
  scrapeInterval: string;
  /** host:port of Alertmanager. */
  alertmanager: string;
  /** Path of the rule file inside the Prometheus container. */
  ruleFile: string;
  /** External label identifying the stack in alerts (`stack`). */
  stack: string;
}

const SA_DIR = "/var/run/secrets/kubernetes.io/serviceaccount";

/**
 * cAdvisor series the dashboards and alerts use; everything else it exports (hundreds of series
 * per container) is dropped at scrape time to keep a Pi's Prometheus small.
 */
export const CADVISOR_KEEP = [
  "container_cpu_usage_seconds_total",
  "container_cpu_cfs_periods_total",
  "container_cpu_cfs_throttled_periods_total",
  "container_memory_working_set_bytes",
  "container_network_receive_bytes_total",
  "container_network_transmit_bytes_total",
];

/** The kubelet's own series the dashboards and alerts use (volume usage, running pods). */
export const KUBELET_KEEP = [
  "kubelet_volume_stats_available_bytes",
  "kubelet_volume_stats_capacity_bytes",
  "kubelet_volume_stats_used_bytes",
  "kubelet_running_pods",
];

/** The Prometheus configuration object (serialise with YAML). */
export function prometheusConfig(p: ScrapeConfigParams): Record<string, unknown> {
  const nodeJob = (name: string, path: string, keep: string[]) => ({
    job_name: name,
    scheme: "https",
    metrics_path: path,
    // nodes/metrics lets the ServiceAccount read the kubelet's /metrics and /metrics/cadvisor.
    authorization: { credentials_file: `${SA_DIR}/token` },
    // K3s signs each kubelet's serving certificate with its server CA, for the node's name and
    // the node IPs the agent registers (InternalIP among them), and gives the same server CA to
    // pods as the service account's ca.crt (the controller manager's root-ca-file): the kubelet is
    // verified like the API server. (A kubelet with a self-signed certificate, as kubeadm's
    // default, would fail this check; K3s does not do that.)
    tls_config: { ca_file: `${SA_DIR}/ca.crt` },
    kubernetes_sd_configs: [{ role: "node" }],
    relabel_configs: [
      {
        source_labels: ["__meta_kubernetes_node_address_InternalIP"],
        regex: "(.+)",
        replacement: "$1:10250",
        target_label: "__address__",
      },
      { source_labels: ["__meta_kubernetes_node_name"], target_label: "node" },
      { source_labels: ["__meta_kubernetes_node_name"], target_label: "instance" },
    ],
    metric_relabel_configs: [
      { source_labels: ["__name__"], regex: keep.join("|"), action: "keep" },
    ],
  });
  return {
    global: {
      scrape_interval: p.scrapeInterval,
      evaluation_interval: p.scrapeInterval,
      scrape_timeout: "10s",
      external_labels: { stack: p.stack },
    },
    rule_files: [p.ruleFile],
    alerting: {
      alertmanagers: [{ static_configs: [{ targets: [p.alertmanager] }] }],
    },
    scrape_configs: [
      {
        job_name: "pods",
        kubernetes_sd_configs: [{ role: "pod", namespaces: { names: p.namespaces } }],
        relabel_configs: [
          {
            source_labels: ["__meta_kubernetes_pod_annotation_prometheus_io_scrape"],
            regex: "true",
            action: "keep",
          },
          {
            source_labels: ["__meta_kubernetes_pod_annotation_prometheus_io_port"],
            regex: "\\d+",
            action: "keep",
          },
          {
            source_labels: ["__meta_kubernetes_pod_phase"],
            regex: "Pending|Succeeded|Failed|Unknown",
            action: "drop",
          },
          {
            source_labels: ["__meta_kubernetes_pod_annotation_prometheus_io_path"],
            regex: "(.+)",
            target_label: "__metrics_path__",
          },
          {
            source_labels: [
              "__meta_kubernetes_pod_ip",
              "__meta_kubernetes_pod_annotation_prometheus_io_port",
            ],
            regex: "(.+);(\\d+)",
            replacement: "$1:$2",
            target_label: "__address__",
          },
          {
            source_labels: ["__meta_kubernetes_pod_label_app_kubernetes_io_name"],
            target_label: "job",
          },
          { source_labels: ["__meta_kubernetes_namespace"], target_label: "namespace" },
          { source_labels: ["__meta_kubernetes_pod_name"], target_label: "pod" },
          { source_labels: ["__meta_kubernetes_pod_node_name"], target_label: "node" },
        ],
      },
      nodeJob("kubelet", "/metrics", KUBELET_KEEP),
      nodeJob("cadvisor", "/metrics/cadvisor", CADVISOR_KEEP),
      {
        // K3s runs the API server, scheduler, controllers and kubelet in one process; the API
        // server's /metrics is K3s' own health (request rates, etcd latency).
        job_name: "k3s-apiserver",
        scheme: "https",
        authorization: { credentials_file: `${SA_DIR}/token` },
        tls_config: { ca_file: `${SA_DIR}/ca.crt` },
        kubernetes_sd_configs: [{ role: "endpointslice", namespaces: { names: ["default"] } }],
        relabel_configs: [
          {
            source_labels: [
              "__meta_kubernetes_service_name",
              "__meta_kubernetes_endpointslice_port_name",
            ],
            regex: "kubernetes;https",
            action: "keep",
          },
        ],
        metric_relabel_configs: [
          {
            source_labels: ["__name__"],
            regex:
              "apiserver_request_total|apiserver_request_duration_seconds_(bucket|count|sum)|etcd_request_duration_seconds_(bucket|count|sum)|process_.*",
            action: "keep",
          },
        ],
      },
    ],
  };
}
