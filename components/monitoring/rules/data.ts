import { RuleGroup } from "./types";

/** Parameters of the data-layer alerts. */
export interface DataRuleParams {
  /** The RabbitMQ queue that collects dead letters. */
  deadLetterQueue: string;
  /** Age after which the last backup verification is stale, in hours (schedule period + margin). */
  backupVerifyMaxAgeHours: number;
}

/** PostgreSQL (postgres-exporter), PgBouncer (pgbouncer-exporter) and Redis (redis_exporter). */
export function postgresRules(): RuleGroup {
  return {
    name: "postgres",
    rules: [
      {
        alert: "PostgresDown",
        expr: 'pg_up == 0 or up{job="postgres"} == 0',
        for: "2m",
        severity: "critical",
        summary: "PostgreSQL {{ $labels.instance }} is down",
        description:
          "The exporter next to PostgreSQL {{ $labels.instance }} cannot reach the server (or is not scraped): every service that stores data fails.",
        runbook:
          "kubectl -n {{ $labels.namespace }} logs statefulset/postgres -c postgres; check its volume (KubePersistentVolumeFillingUp) and memory (OOMKilled).",
      },
      {
        alert: "PostgresConnectionsNearMax",
        expr: "sum by (namespace, instance) (pg_stat_activity_count) / on (namespace, instance) max by (namespace, instance) (pg_settings_max_connections) > 0.80",
        for: "5m",
        severity: "warning",
        summary: "PostgreSQL {{ $labels.instance }} uses over 80% of max_connections",
        description:
          "Connections on {{ $labels.instance }} are close to max_connections; new connections will be refused.",
        runbook:
          "Check PgBouncer's pool sizes against data.postgres.maxConnections; look for clients that bypass PgBouncer or leak connections.",
      },
    ],
  };
}

export function pgbouncerRules(): RuleGroup {
  return {
    name: "pgbouncer",
    rules: [
      {
        alert: "PgBouncerClientsWaiting",
        expr: "max by (namespace, instance, database) (pgbouncer_pools_client_waiting_connections) > 0",
        for: "5m",
        severity: "warning",
        summary: "Clients wait for a server connection in PgBouncer pool {{ $labels.database }}",
        description:
          "Clients of database {{ $labels.database }} have been queueing in PgBouncer {{ $labels.instance }} for 5 minutes: the pool is too small or queries are slow.",
        runbook:
          "Raise data.pgbouncer.defaultPoolSize (within max_connections) or find slow queries (pg_stat_activity).",
      },
    ],
  };
}

export function redisRules(): RuleGroup {
  return {
    name: "redis",
    rules: [
      {
        alert: "RedisDown",
        expr: 'redis_up == 0 or up{job="redis"} == 0',
        for: "2m",
        severity: "critical",
        summary: "Redis {{ $labels.instance }} is down",
        description: "The exporter cannot reach Redis {{ $labels.instance }} (or is not scraped).",
        runbook:
          "kubectl -n {{ $labels.namespace }} logs deploy/redis -c redis; check for OOMKilled.",
      },
      {
        alert: "RedisMemoryNearMax",
        expr: "redis_memory_used_bytes / (redis_memory_max_bytes > 0) > 0.90",
        for: "5m",
        severity: "warning",
        summary: "Redis {{ $labels.instance }} uses over 90% of maxmemory",
        description:
          "Redis {{ $labels.instance }} is close to maxmemory; it will evict keys (or refuse writes with noeviction).",
        runbook:
          "Raise data.redis.maxMemory (and the memory limit) or shorten the TTLs of cached keys.",
      },
      {
        alert: "RedisEvictions",
        expr: "increase(redis_evicted_keys_total[10m]) > 0",
        severity: "warning",
        summary: "Redis {{ $labels.instance }} is evicting keys",
        description:
          "Redis {{ $labels.instance }} evicted keys in the last 10 minutes because it reached maxmemory.",
        runbook: "Cache misses follow; raise data.redis.maxMemory or reduce what is cached.",
      },
    ],
  };
}

/** RabbitMQ (its prometheus plugin, per-object metrics). */
export function rabbitmqRules(p: Pick<DataRuleParams, "deadLetterQueue">): RuleGroup {
  return {
    name: "rabbitmq",
    rules: [
      {
        alert: "RabbitMQMemoryAlarm",
        expr: "max by (namespace, instance) (rabbitmq_alarms_memory_used_watermark) == 1",
        severity: "critical",
        summary: "RabbitMQ {{ $labels.instance }} memory alarm: publishers are blocked",
        description:
          "RabbitMQ {{ $labels.instance }} reached its memory high watermark and blocks every publishing connection.",
        runbook:
          "Find the queues that hold most messages (Data dashboard); make sure their consumers run; raise the memory limit if the load is legitimate.",
      },
      {
        alert: "RabbitMQDiskAlarm",
        expr: "max by (namespace, instance) (rabbitmq_alarms_free_disk_space_watermark) == 1",
        severity: "critical",
        summary: "RabbitMQ {{ $labels.instance }} disk alarm: publishers are blocked",
        description:
          "Free disk on RabbitMQ {{ $labels.instance }} fell below data.rabbitmq.diskFreeLimit; every publisher is blocked.",
        runbook: "Grow data.rabbitmq.storage or drain the queues that hold most messages.",
      },
      {
        alert: "RabbitMQDeadLetterQueueGrowing",
        expr: `delta(rabbitmq_queue_messages{queue="${p.deadLetterQueue}"}[30m]) > 0`,
        for: "30m",
        severity: "warning",
        summary: "Dead-letter queue {{ $labels.queue }} keeps growing",
        description:
          "Messages keep arriving in {{ $labels.queue }} (vhost {{ $labels.vhost }}): consumers reject or time out on them.",
        runbook:
          "Look at the consumers' logs in the Operations dashboard for the errors; fix the cause, then move the messages back with the shovel plugin or drop them.",
      },
      {
        alert: "RabbitMQQueueWithoutConsumers",
        expr: `rabbitmq_queue_consumers{queue!="${p.deadLetterQueue}"} == 0`,
        for: "10m",
        severity: "warning",
        summary: "Queue {{ $labels.queue }} has no consumers",
        description:
          "Nobody consumes {{ $labels.queue }} (vhost {{ $labels.vhost }}); its messages pile up.",
        runbook:
          "Check the consuming service is running and connected (its logs, RabbitMQ connections); a crash-looping consumer shows as KubePodCrashLooping.",
      },
    ],
  };
}

/** The backup verification published by the postgres-exporter (see components/data/backup-scripts.ts). */
export function backupRules(p: Pick<DataRuleParams, "backupVerifyMaxAgeHours">): RuleGroup {
  return {
    name: "backups",
    rules: [
      {
        alert: "BackupVerificationFailed",
        expr: "auditflow_backup_verify_success == 0",
        // Pending first: a value read during a scrape glitch does not page anyone.
        for: "10m",
        severity: "critical",
        summary: "The last backup verification failed",
        description:
          "The newest backup could not be restored and checked (checksums, decryption or row counts differ): the platform may have no usable backup.",
        runbook:
          "kubectl -n {{ $labels.namespace }} logs job/<newest postgres-backup-verify job>; fix the cause and run the verification again (kubectl create job --from=cronjob/...).",
      },
      {
        alert: "BackupVerificationStale",
        expr: `time() - auditflow_backup_verify_timestamp_seconds > ${p.backupVerifyMaxAgeHours} * 3600`,
        severity: "warning",
        summary: `No backup verification in the last ${p.backupVerifyMaxAgeHours} hours`,
        description: `The last recorded verification is older than ${p.backupVerifyMaxAgeHours} hours (the schedule's period plus 2 hours): the CronJob did not run or could not record its result.`,
        runbook:
          "kubectl -n {{ $labels.namespace }} get cronjobs,jobs; look for a suspended CronJob, a missed schedule or a Job that failed before writing its result.",
      },
    ],
  };
}
