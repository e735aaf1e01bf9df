/**
 * Metrics the dashboards and alerts use that come from sources the conformance tier cannot run
 * (they need a kubelet, an API server or software not deployed here). Every other metric name must
 * appear in the scrape output of a real exporter or be a recording rule.
 */

/** kube-state-metrics v2 series (object state from the API server). */
export const KSM_DOCUMENTED_METRICS = [
  "kube_deployment_status_replicas_available",
  "kube_deployment_spec_replicas",
  "kube_deployment_status_condition",
  "kube_statefulset_replicas",
  "kube_statefulset_status_replicas_ready",
  "kube_replicaset_created",
  "kube_replicaset_owner",
  "kube_pod_info",
  "kube_pod_start_time",
  "kube_pod_status_phase",
  "kube_pod_container_status_waiting_reason",
  "kube_pod_container_status_restarts_total",
  "kube_node_status_condition",
  "kube_job_failed",
];

/** Other sources, each with where its series come from. */
export const OTHER_SOURCES: Record<string, string> = {
  http_requests_total: "the AuditFlow services' /metrics (the README's metrics contract)",
  http_request_duration_seconds_bucket: "the AuditFlow services' /metrics (histogram)",
  http_request_duration_seconds_count: "the AuditFlow services' /metrics (histogram)",
  certmanager_certificate_expiration_timestamp_seconds: "cert-manager's controller",
  traefik_tls_certs_not_after: "Traefik (K3s' ingress controller)",
};
