/**
 * For every alert: series that must fire it (with the labels the alert must carry) and healthy
 * series on which it must stay silent. tests/conformance/monitoring.test.ts turns these into a
 * `promtool test rules` file; an alert without a case fails that test.
 */

/** Series selector -> promtool's expanding value notation (e.g. '0+1x60'). */
export type Series = Record<string, string>;

export interface AlertCase {
  /** Sample and evaluation interval of the case. Defaults to 1m. */
  interval?: string;
  /** Series that fire the alert at `at`, and the labels it must then carry (severity aside). */
  fire: { series: Series; at: string; labels: Record<string, string> };
  /** Healthy series: the alert stays silent at `at` (null only for Watchdog, which always fires). */
  healthy: { series: Series; at: string } | null;
}

const fsl = 'instance="pi-1:9100",device="/dev/mmcblk0p2",mountpoint="/",fstype="ext4"';
const fsLabels = {
  instance: "pi-1:9100",
  device: "/dev/mmcblk0p2",
  mountpoint: "/",
  fstype: "ext4",
};
const filesystem = (avail: string) => ({
  [`node_filesystem_avail_bytes{${fsl}}`]: avail,
  [`node_filesystem_size_bytes{${fsl}}`]: "100x300",
  [`node_filesystem_readonly{${fsl}}`]: "0x300",
});
const pod = 'namespace="auditflow",pod="analysis-0"';
const podInfo = { [`kube_pod_info{${pod},node="pi-1"}`]: "1x60" };
const data = 'namespace="auditflow-data",instance="10.42.0.7:9187"';
const dataLabels = { namespace: "auditflow-data", instance: "10.42.0.7:9187" };
const svc = 'namespace="auditflow",job="audit-log-analysis"';
const svcLabels = { namespace: "auditflow", job: "audit-log-analysis" };
const requests = (errors: string) => ({
  [`http_requests_total{${svc},code="500"}`]: errors,
  [`http_requests_total{${svc},code="200"}`]: "0+60x200",
});
const latency = (fast: string) => ({
  [`http_request_duration_seconds_bucket{${svc},le="0.5"}`]: fast,
  [`http_request_duration_seconds_count{${svc}}`]: "0+60x200",
});

export const ALERT_CASES: Record<string, AlertCase> = {
  Watchdog: { fire: { series: {}, at: "1m", labels: {} }, healthy: null },
  TargetDown: {
    fire: {
      series: {
        'up{job="redis",namespace="auditflow-data",instance="a"}': "0x30",
        'up{job="redis",namespace="auditflow-data",instance="b"}': "1x30",
      },
      at: "15m",
      labels: { job: "redis", namespace: "auditflow-data" },
    },
    healthy: {
      series: {
        'up{job="redis",namespace="auditflow-data",instance="a"}': "1x30",
        'up{job="redis",namespace="auditflow-data",instance="b"}': "1x30",
      },
      at: "15m",
    },
  },
  NodeFilesystemAlmostFull: {
    fire: { series: filesystem("10x60"), at: "20m", labels: fsLabels },
    healthy: { series: filesystem("50x60"), at: "20m" },
  },
  NodeFilesystemFillingUp: {
    fire: { series: filesystem("39-0.05x180"), at: "2h", labels: fsLabels },
    healthy: { series: filesystem("39x180"), at: "2h" },
  },
  NodeMemoryHigh: {
    fire: {
      series: {
        'node_memory_MemAvailable_bytes{instance="pi-1:9100"}': "5x30",
        'node_memory_MemTotal_bytes{instance="pi-1:9100"}': "100x30",
      },
      at: "20m",
      labels: { instance: "pi-1:9100" },
    },
    healthy: {
      series: {
        'node_memory_MemAvailable_bytes{instance="pi-1:9100"}': "50x30",
        'node_memory_MemTotal_bytes{instance="pi-1:9100"}': "100x30",
      },
      at: "20m",
    },
  },
  NodeCPUHigh: {
    fire: {
      series: { 'node_cpu_seconds_total{instance="pi-1:9100",cpu="0",mode="idle"}': "0+3x60" },
      at: "45m",
      labels: { instance: "pi-1:9100" },
    },
    healthy: {
      series: { 'node_cpu_seconds_total{instance="pi-1:9100",cpu="0",mode="idle"}': "0+50x60" },
      at: "45m",
    },
  },
  NodeClockSkew: {
    fire: {
      series: {
        'node_timex_offset_seconds{instance="pi-1:9100"}': "0.1x30",
        'node_timex_sync_status{instance="pi-1:9100"}': "1x30",
      },
      at: "20m",
      labels: { instance: "pi-1:9100" },
    },
    healthy: {
      series: {
        'node_timex_offset_seconds{instance="pi-1:9100"}': "0.001x30",
        'node_timex_sync_status{instance="pi-1:9100"}': "1x30",
      },
      at: "20m",
    },
  },
  KubePodCrashLooping: {
    fire: {
      series: {
        [`kube_pod_container_status_waiting_reason{${pod},container="app",reason="CrashLoopBackOff"}`]:
          "1x60",
        ...podInfo,
      },
      at: "10m",
      labels: { namespace: "auditflow", pod: "analysis-0", container: "app", node: "pi-1" },
    },
    healthy: {
      series: {
        [`kube_pod_container_status_waiting_reason{${pod},container="app",reason="CrashLoopBackOff"}`]:
          "0x60",
        ...podInfo,
      },
      at: "10m",
    },
  },
  KubePodNotReady: {
    fire: {
      series: {
        [`kube_pod_status_phase{${pod},phase="Pending"}`]: "1x60",
        [`kube_pod_status_phase{${pod},phase="Running"}`]: "0x60",
        ...podInfo,
      },
      at: "20m",
      labels: { namespace: "auditflow", pod: "analysis-0", node: "pi-1" },
    },
    healthy: {
      series: {
        [`kube_pod_status_phase{${pod},phase="Pending"}`]: "0x60",
        [`kube_pod_status_phase{${pod},phase="Running"}`]: "1x60",
        ...podInfo,
      },
      at: "20m",
    },
  },
  KubeDeploymentRolloutStuck: {
    fire: {
      series: {
        'kube_deployment_status_condition{namespace="auditflow",deployment="analysis",condition="Progressing",status="false"}':
          "1x30",
      },
      at: "20m",
      labels: {
        namespace: "auditflow",
        deployment: "analysis",
        condition: "Progressing",
        status: "false",
      },
    },
    healthy: {
      series: {
        'kube_deployment_status_condition{namespace="auditflow",deployment="analysis",condition="Progressing",status="false"}':
          "0x30",
      },
      at: "20m",
    },
  },
  KubeDeploymentReplicasMismatch: {
    fire: {
      series: {
        'kube_deployment_spec_replicas{namespace="auditflow",deployment="analysis"}': "2x30",
        'kube_deployment_status_replicas_available{namespace="auditflow",deployment="analysis"}':
          "1x30",
      },
      at: "20m",
      labels: { namespace: "auditflow", deployment: "analysis" },
    },
    healthy: {
      series: {
        'kube_deployment_spec_replicas{namespace="auditflow",deployment="analysis"}': "2x30",
        'kube_deployment_status_replicas_available{namespace="auditflow",deployment="analysis"}':
          "2x30",
      },
      at: "20m",
    },
  },
  KubeStatefulSetReplicasMismatch: {
    fire: {
      series: {
        'kube_statefulset_status_replicas_ready{namespace="auditflow-data",statefulset="postgres"}':
          "0x30",
        'kube_statefulset_replicas{namespace="auditflow-data",statefulset="postgres"}': "1x30",
      },
      at: "20m",
      labels: { namespace: "auditflow-data", statefulset: "postgres" },
    },
    healthy: {
      series: {
        'kube_statefulset_status_replicas_ready{namespace="auditflow-data",statefulset="postgres"}':
          "1x30",
        'kube_statefulset_replicas{namespace="auditflow-data",statefulset="postgres"}': "1x30",
      },
      at: "20m",
    },
  },
  KubeJobFailed: {
    fire: {
      series: { 'kube_job_failed{namespace="auditflow-data",job_name="verify-1"}': "1x20" },
      at: "10m",
      labels: { namespace: "auditflow-data", job_name: "verify-1" },
    },
    healthy: {
      series: { 'kube_job_failed{namespace="auditflow-data",job_name="verify-1"}': "0x20" },
      at: "10m",
    },
  },
  KubePersistentVolumeFillingUp: {
    fire: {
      series: {
        'kubelet_volume_stats_available_bytes{namespace="auditflow-data",persistentvolumeclaim="data-postgres-0"}':
          "10x20",
        'kubelet_volume_stats_capacity_bytes{namespace="auditflow-data",persistentvolumeclaim="data-postgres-0"}':
          "100x20",
        'kubelet_volume_stats_used_bytes{namespace="auditflow-data",persistentvolumeclaim="data-postgres-0"}':
          "90x20",
      },
      at: "10m",
      labels: { namespace: "auditflow-data", persistentvolumeclaim: "data-postgres-0" },
    },
    healthy: {
      series: {
        'kubelet_volume_stats_available_bytes{namespace="auditflow-data",persistentvolumeclaim="data-postgres-0"}':
          "50x20",
        'kubelet_volume_stats_capacity_bytes{namespace="auditflow-data",persistentvolumeclaim="data-postgres-0"}':
          "100x20",
        'kubelet_volume_stats_used_bytes{namespace="auditflow-data",persistentvolumeclaim="data-postgres-0"}':
          "50x20",
      },
      at: "10m",
    },
  },
  KubeNodeNotReady: {
    fire: {
      series: { 'kube_node_status_condition{node="pi-1",condition="Ready",status="true"}': "0x20" },
      at: "10m",
      labels: { node: "pi-1", condition: "Ready", status: "true" },
    },
    healthy: {
      series: { 'kube_node_status_condition{node="pi-1",condition="Ready",status="true"}': "1x20" },
      at: "10m",
    },
  },
  CPUThrottlingHigh: {
    fire: {
      series: {
        [`container_cpu_cfs_throttled_periods_total{${pod},container="app"}`]: "0+50x60",
        [`container_cpu_cfs_periods_total{${pod},container="app"}`]: "0+100x60",
      },
      at: "30m",
      labels: { namespace: "auditflow", pod: "analysis-0", container: "app" },
    },
    healthy: {
      series: {
        [`container_cpu_cfs_throttled_periods_total{${pod},container="app"}`]: "0+1x60",
        [`container_cpu_cfs_periods_total{${pod},container="app"}`]: "0+100x60",
      },
      at: "30m",
    },
  },
  PostgresDown: {
    fire: {
      series: { [`pg_up{${data},job="postgres"}`]: "0x10", [`up{${data},job="postgres"}`]: "1x10" },
      at: "5m",
      labels: { ...dataLabels, job: "postgres" },
    },
    healthy: {
      series: { [`pg_up{${data},job="postgres"}`]: "1x10", [`up{${data},job="postgres"}`]: "1x10" },
      at: "5m",
    },
  },
  PostgresConnectionsNearMax: {
    fire: {
      series: {
        [`pg_stat_activity_count{${data},datname="audit_log_analysis",state="active"}`]: "45x20",
        [`pg_settings_max_connections{${data}}`]: "50x20",
      },
      at: "10m",
      labels: dataLabels,
    },
    healthy: {
      series: {
        [`pg_stat_activity_count{${data},datname="audit_log_analysis",state="active"}`]: "10x20",
        [`pg_settings_max_connections{${data}}`]: "50x20",
      },
      at: "10m",
    },
  },
  PgBouncerClientsWaiting: {
    fire: {
      series: {
        [`pgbouncer_pools_client_waiting_connections{${data},database="audit_log_analysis",user="a"}`]:
          "3x20",
      },
      at: "10m",
      labels: { ...dataLabels, database: "audit_log_analysis" },
    },
    healthy: {
      series: {
        [`pgbouncer_pools_client_waiting_connections{${data},database="audit_log_analysis",user="a"}`]:
          "0x20",
      },
      at: "10m",
    },
  },
  RedisDown: {
    fire: {
      series: { [`redis_up{${data},job="redis"}`]: "0x10", [`up{${data},job="redis"}`]: "1x10" },
      at: "5m",
      labels: { ...dataLabels, job: "redis" },
    },
    healthy: {
      series: { [`redis_up{${data},job="redis"}`]: "1x10", [`up{${data},job="redis"}`]: "1x10" },
      at: "5m",
    },
  },
  RedisMemoryNearMax: {
    fire: {
      series: {
        [`redis_memory_used_bytes{${data}}`]: "95x20",
        [`redis_memory_max_bytes{${data}}`]: "100x20",
      },
      at: "10m",
      labels: dataLabels,
    },
    // Without maxmemory (0) Redis is not "near" it, however much it uses.
    healthy: {
      series: {
        [`redis_memory_used_bytes{${data}}`]: "95x20",
        [`redis_memory_max_bytes{${data}}`]: "0x20",
      },
      at: "10m",
    },
  },
  RedisEvictions: {
    fire: {
      series: { [`redis_evicted_keys_total{${data}}`]: "0+1x20" },
      at: "10m",
      labels: dataLabels,
    },
    healthy: { series: { [`redis_evicted_keys_total{${data}}`]: "7x20" }, at: "10m" },
  },
  RabbitMQMemoryAlarm: {
    fire: {
      series: { [`rabbitmq_alarms_memory_used_watermark{${data}}`]: "1x5" },
      at: "1m",
      labels: dataLabels,
    },
    healthy: { series: { [`rabbitmq_alarms_memory_used_watermark{${data}}`]: "0x5" }, at: "1m" },
  },
  RabbitMQDiskAlarm: {
    fire: {
      series: { [`rabbitmq_alarms_free_disk_space_watermark{${data}}`]: "1x5" },
      at: "1m",
      labels: dataLabels,
    },
    healthy: {
      series: { [`rabbitmq_alarms_free_disk_space_watermark{${data}}`]: "0x5" },
      at: "1m",
    },
  },
  RabbitMQDeadLetterQueueGrowing: {
    fire: {
      series: {
        [`rabbitmq_queue_messages{${data},queue="audit.dead-letter",vhost="auditflow"}`]: "0+1x120",
      },
      at: "70m",
      labels: { ...dataLabels, queue: "audit.dead-letter", vhost: "auditflow" },
    },
    healthy: {
      series: {
        [`rabbitmq_queue_messages{${data},queue="audit.dead-letter",vhost="auditflow"}`]: "5x120",
      },
      at: "70m",
    },
  },
  RabbitMQQueueWithoutConsumers: {
    fire: {
      series: {
        [`rabbitmq_queue_consumers{${data},queue="audit.analysis",vhost="auditflow"}`]: "0x30",
      },
      at: "15m",
      labels: { ...dataLabels, queue: "audit.analysis", vhost: "auditflow" },
    },
    // The dead-letter queue has no consumer on purpose: silent.
    healthy: {
      series: {
        [`rabbitmq_queue_consumers{${data},queue="audit.analysis",vhost="auditflow"}`]: "1x30",
        [`rabbitmq_queue_consumers{${data},queue="audit.dead-letter",vhost="auditflow"}`]: "0x30",
      },
      at: "15m",
    },
  },
  BackupVerificationFailed: {
    fire: {
      series: { [`auditflow_backup_verify_success{${data}}`]: "0x30" },
      at: "15m",
      labels: dataLabels,
    },
    healthy: { series: { [`auditflow_backup_verify_success{${data}}`]: "1x30" }, at: "15m" },
  },
  // dev verifies weekly, so its threshold is 170 hours (168 + 2): eight days without one fire.
  BackupVerificationStale: {
    interval: "1h",
    fire: {
      series: { [`auditflow_backup_verify_timestamp_seconds{${data}}`]: "0x200" },
      at: "8d",
      labels: dataLabels,
    },
    // A verification every hour: never older than the threshold.
    healthy: {
      series: { [`auditflow_backup_verify_timestamp_seconds{${data}}`]: "0+3600x200" },
      at: "8d",
    },
  },
  CertificateExpiringSoon: {
    fire: {
      series: {
        'certmanager_certificate_expiration_timestamp_seconds{namespace="auditflow",name="dashboard-tls"}':
          "432000x150",
      },
      at: "2h",
      labels: { namespace: "auditflow", name: "dashboard-tls" },
    },
    healthy: {
      series: {
        'certmanager_certificate_expiration_timestamp_seconds{namespace="auditflow",name="dashboard-tls"}':
          "5184000x150",
      },
      at: "2h",
    },
  },
  CertificateNotReady: {
    fire: {
      series: {
        'certmanager_certificate_ready_status{namespace="auditflow",name="dashboard-tls",condition="False"}':
          "1x60",
      },
      at: "45m",
      labels: { namespace: "auditflow", name: "dashboard-tls" },
    },
    // Ready again after 20 minutes: never 30 minutes not Ready in a row.
    healthy: {
      series: {
        'certmanager_certificate_ready_status{namespace="auditflow",name="dashboard-tls",condition="False"}':
          "1x20 0x40",
      },
      at: "45m",
    },
  },
  TraefikCertificateExpiringSoon: {
    fire: {
      series: {
        'traefik_tls_certs_not_after{cn="auditflow.example",sans="auditflow.example",serial="1"}':
          "432000x150",
      },
      at: "2h",
      labels: { cn: "auditflow.example", sans: "auditflow.example" },
    },
    healthy: {
      series: {
        'traefik_tls_certs_not_after{cn="auditflow.example",sans="auditflow.example",serial="1"}':
          "5184000x150",
      },
      at: "2h",
    },
  },
  AuditFlowErrorBudgetBurn: {
    fire: { series: requests("0+60x200"), at: "30m", labels: svcLabels },
    healthy: { series: requests("0x200"), at: "30m" },
  },
  AuditFlowErrorBudgetBurnSlow: {
    fire: { series: requests("0+60x200"), at: "3h", labels: svcLabels },
    healthy: { series: requests("0x200"), at: "3h" },
  },
  AuditFlowLatencyBudgetBurn: {
    fire: { series: latency("0+30x200"), at: "30m", labels: svcLabels },
    healthy: { series: latency("0+60x200"), at: "30m" },
  },
  AuditFlowLatencyBudgetBurnSlow: {
    fire: { series: latency("0+30x200"), at: "3h", labels: svcLabels },
    healthy: { series: latency("0+60x200"), at: "3h" },
  },
};
