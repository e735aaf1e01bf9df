/**
 * The provisioned dashboards, generated with @grafana/grafana-foundation-sdk (no hand-written JSON):
 * Operations (what the audit asks for), Data (PostgreSQL, PgBouncer, Redis, RabbitMQ, backups) and
 * Cluster (nodes, pods, volumes).
 */
import * as dashboard from "@grafana/grafana-foundation-sdk/dashboard";
import { graph, logLines, logRate, single } from "./panels";

export { DATASOURCES } from "./panels";

/** Namespaces the dashboards look at. */
export interface DashboardParams {
  apps: string;
  data: string;
  /** The dead-letter queue, shown apart from the work queues. */
  deadLetterQueue: string;
}

const base = (uid: string, title: string) =>
  new dashboard.DashboardBuilder(title)
    .uid(uid)
    .tags(["auditflow"])
    .editable()
    .refresh("1m")
    .time({ from: "now-6h", to: "now" })
    .timezone("browser");

/** What an operator opens first: node resources, each service's status, errors and logs. */
export function operationsDashboard(p: DashboardParams): dashboard.Dashboard {
  const ns = `namespace="${p.apps}"`;
  return base("auditflow-operations", "AuditFlow / Operations")
    .withRow(new dashboard.RowBuilder("Nodes"))
    .withPanel(
      single("CPU busy", "percentunit", [
        { expr: '1 - avg(rate(node_cpu_seconds_total{mode="idle"}[5m]))' },
      ]),
    )
    .withPanel(
      single("Memory used", "percentunit", [
        { expr: "1 - sum(node_memory_MemAvailable_bytes) / sum(node_memory_MemTotal_bytes)" },
      ]),
    )
    .withPanel(
      single("Root disk used", "percentunit", [
        {
          expr: 'max(1 - node_filesystem_avail_bytes{mountpoint="/"} / node_filesystem_size_bytes{mountpoint="/"})',
        },
      ]),
    )
    .withPanel(
      single("Firing alerts", "short", [
        { expr: 'count(ALERTS{alertstate="firing", alertname!="Watchdog"}) or vector(0)' },
      ]),
    )
    .withRow(new dashboard.RowBuilder("Services"))
    .withPanel(
      single(
        "Available replicas",
        "short",
        [
          {
            expr: `kube_deployment_status_replicas_available{${ns}}`,
            legend: "{{deployment}}",
          },
        ],
        8,
      ),
    )
    .withPanel(
      single(
        "Last deployment",
        "dateTimeFromNow",
        [
          {
            expr: `max by (owner_name) (kube_replicaset_created{${ns}} * on (namespace, replicaset) group_left (owner_name) kube_replicaset_owner{${ns}, owner_kind="Deployment"}) * 1000`,
            legend: "{{owner_name}}",
          },
        ],
        8,
      ),
    )
    .withPanel(
      single(
        "Uptime (youngest pod)",
        "s",
        [
          {
            expr: `time() - max by (created_by_name) (kube_pod_start_time{${ns}} * on (namespace, pod) group_left (created_by_name) kube_pod_info{${ns}})`,
            legend: "{{created_by_name}}",
          },
        ],
        8,
      ),
    )
    .withPanel(
      graph("Error rate (5xx share)", "percentunit", [
        { expr: `auditflow:http_errors:ratio_rate5m{${ns}}`, legend: "{{job}}" },
      ]),
    )
    .withPanel(
      graph("Latency p95", "s", [
        {
          expr: `histogram_quantile(0.95, sum by (job, le) (rate(http_request_duration_seconds_bucket{${ns}}[5m])))`,
          legend: "{{job}}",
        },
      ]),
    )
    .withPanel(
      graph("CPU by service", "cores", [
        {
          expr: `sum by (pod) (rate(container_cpu_usage_seconds_total{${ns}, container!=""}[5m]))`,
          legend: "{{pod}}",
        },
      ]),
    )
    .withPanel(
      graph("Memory by service", "bytes", [
        {
          expr: `sum by (pod) (container_memory_working_set_bytes{${ns}, container!=""})`,
          legend: "{{pod}}",
        },
      ]),
    )
    .withRow(new dashboard.RowBuilder("Logs"))
    .withPanel(logLines("Last 50 log lines", `{namespace="${p.apps}"}`, 50))
    .build();
}

/** PostgreSQL, PgBouncer, Redis, RabbitMQ and the backup verification. */
export function dataDashboard(p: DashboardParams): dashboard.Dashboard {
  const ns = `namespace="${p.data}"`;
  return base("auditflow-data", "AuditFlow / Data")
    .withRow(new dashboard.RowBuilder("PostgreSQL and PgBouncer"))
    .withPanel(single("PostgreSQL up", "bool_yes_no", [{ expr: `max(pg_up{${ns}})` }]))
    .withPanel(
      single("Connections used", "percentunit", [
        {
          expr: `sum(pg_stat_activity_count{${ns}}) / max(pg_settings_max_connections{${ns}})`,
        },
      ]),
    )
    .withPanel(
      single("Last backup verification", "bool_yes_no", [
        { expr: `max(auditflow_backup_verify_success{${ns}})` },
      ]),
    )
    .withPanel(
      single("Verified", "dateTimeFromNow", [
        { expr: `max(auditflow_backup_verify_timestamp_seconds{${ns}}) * 1000` },
      ]),
    )
    .withPanel(
      graph("Connections by database and state", "short", [
        {
          expr: `sum by (datname, state) (pg_stat_activity_count{${ns}})`,
          legend: "{{datname}} {{state}}",
        },
      ]),
    )
    .withPanel(
      graph("Database size", "bytes", [
        { expr: `pg_database_size_bytes{${ns}}`, legend: "{{datname}}" },
      ]),
    )
    .withPanel(
      graph("Transactions per second", "ops", [
        {
          expr: `sum by (datname) (rate(pg_stat_database_xact_commit{${ns}}[5m]) + rate(pg_stat_database_xact_rollback{${ns}}[5m]))`,
          legend: "{{datname}}",
        },
      ]),
    )
    .withPanel(
      graph("PgBouncer clients waiting", "short", [
        {
          expr: `sum by (database) (pgbouncer_pools_client_waiting_connections{${ns}})`,
          legend: "{{database}}",
        },
      ]),
    )
    .withRow(new dashboard.RowBuilder("Redis"))
    .withPanel(
      graph("Memory used / maxmemory", "bytes", [
        { expr: `redis_memory_used_bytes{${ns}}`, legend: "used" },
        { expr: `redis_memory_max_bytes{${ns}}`, legend: "maxmemory" },
      ]),
    )
    .withPanel(
      graph("Commands, hits, misses and evictions", "ops", [
        { expr: `rate(redis_commands_processed_total{${ns}}[5m])`, legend: "commands" },
        { expr: `rate(redis_keyspace_hits_total{${ns}}[5m])`, legend: "hits" },
        { expr: `rate(redis_keyspace_misses_total{${ns}}[5m])`, legend: "misses" },
        { expr: `rate(redis_evicted_keys_total{${ns}}[5m])`, legend: "evicted" },
      ]),
    )
    .withRow(new dashboard.RowBuilder("RabbitMQ"))
    .withPanel(
      graph("Messages per queue", "short", [
        {
          expr: `sum by (queue) (rabbitmq_queue_messages{${ns}, queue!="${p.deadLetterQueue}"})`,
          legend: "{{queue}}",
        },
        {
          expr: `sum(rabbitmq_queue_messages{${ns}, queue="${p.deadLetterQueue}"})`,
          legend: "dead letters",
        },
      ]),
    )
    .withPanel(
      graph("Consumers per queue", "short", [
        { expr: `sum by (queue) (rabbitmq_queue_consumers{${ns}})`, legend: "{{queue}}" },
      ]),
    )
    .withPanel(
      single("Memory alarm", "bool_yes_no", [
        { expr: `max(rabbitmq_alarms_memory_used_watermark{${ns}})` },
      ]),
    )
    .withPanel(
      single("Disk alarm", "bool_yes_no", [
        { expr: `max(rabbitmq_alarms_free_disk_space_watermark{${ns}})` },
      ]),
    )
    .withPanel(
      logRate(
        "Error lines in the data namespace",
        `sum by (container) (count_over_time({namespace="${p.data}"} |~ "(?i)(error|fatal|panic)" [5m]))`,
        "{{container}}",
      ),
    )
    .build();
}

/** Nodes, pods and volumes of the whole cluster. */
export function clusterDashboard(): dashboard.Dashboard {
  return base("auditflow-cluster", "AuditFlow / Cluster and nodes")
    .withRow(new dashboard.RowBuilder("Nodes"))
    .withPanel(
      single("Nodes ready", "short", [
        { expr: 'sum(kube_node_status_condition{condition="Ready", status="true"})' },
      ]),
    )
    .withPanel(single("Pods running", "short", [{ expr: "sum(kubelet_running_pods)" }]))
    .withPanel(
      single("Containers restarting (1h)", "short", [
        { expr: "sum(increase(kube_pod_container_status_restarts_total[1h]))" },
      ]),
    )
    .withPanel(single("Clock offset (max)", "s", [{ expr: "max(abs(node_timex_offset_seconds))" }]))
    .withPanel(
      graph("CPU busy by node", "percentunit", [
        {
          expr: '1 - avg by (instance) (rate(node_cpu_seconds_total{mode="idle"}[5m]))',
          legend: "{{instance}}",
        },
      ]),
    )
    .withPanel(
      graph("Memory used by node", "percentunit", [
        {
          expr: "1 - node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes",
          legend: "{{instance}}",
        },
      ]),
    )
    .withPanel(
      graph("Disk used by mount", "percentunit", [
        {
          expr: '1 - node_filesystem_avail_bytes{fstype!~"tmpfs|overlay|squashfs"} / node_filesystem_size_bytes{fstype!~"tmpfs|overlay|squashfs"}',
          legend: "{{instance}} {{mountpoint}}",
        },
      ]),
    )
    .withPanel(
      graph("Network", "Bps", [
        {
          expr: 'sum by (instance) (rate(node_network_receive_bytes_total{device!~"lo|veth.*|cni.*|flannel.*"}[5m]))',
          legend: "{{instance}} in",
        },
        {
          expr: 'sum by (instance) (rate(node_network_transmit_bytes_total{device!~"lo|veth.*|cni.*|flannel.*"}[5m]))',
          legend: "{{instance}} out",
        },
      ]),
    )
    .withRow(new dashboard.RowBuilder("Pods and volumes"))
    .withPanel(
      graph("CPU by namespace", "cores", [
        {
          expr: 'sum by (namespace) (rate(container_cpu_usage_seconds_total{container!=""}[5m]))',
          legend: "{{namespace}}",
        },
      ]),
    )
    .withPanel(
      graph("Memory by namespace", "bytes", [
        {
          expr: 'sum by (namespace) (container_memory_working_set_bytes{container!=""})',
          legend: "{{namespace}}",
        },
      ]),
    )
    .withPanel(
      graph("Volume usage", "percentunit", [
        {
          expr: "kubelet_volume_stats_used_bytes / kubelet_volume_stats_capacity_bytes",
          legend: "{{namespace}}/{{persistentvolumeclaim}}",
        },
      ]),
    )
    .withPanel(
      graph("Scrape targets up", "short", [{ expr: "sum by (job) (up)", legend: "{{job}}" }]),
    )
    .withPanel(
      logRate(
        "Error lines by namespace",
        'sum by (namespace) (count_over_time({job="kubernetes"} |~ "(?i)(error|fatal|panic)" [5m]))',
        "{{namespace}}",
      ),
    )
    .build();
}

/** Every dashboard, by file name. */
export function allDashboards(p: DashboardParams): Record<string, dashboard.Dashboard> {
  return {
    "operations.json": operationsDashboard(p),
    "data.json": dataDashboard(p),
    "cluster.json": clusterDashboard(),
  };
}
