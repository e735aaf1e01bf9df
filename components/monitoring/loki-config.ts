/**
 * Loki's configuration for a single-binary install on a Pi: filesystem storage (TSDB index, schema
 * v13), retention applied by the compactor, small in-process caches, modest ingestion limits.
 */

export interface LokiConfigParams {
  /** How long logs are kept, in Loki's duration form (e.g. 168h). */
  retention: string;
  /** Where the volume is mounted. */
  dataDir: string;
  /** HTTP port. */
  port: number;
}

export function lokiConfig(p: LokiConfigParams): Record<string, unknown> {
  const d = p.dataDir;
  return {
    auth_enabled: false,
    server: { http_listen_port: p.port, grpc_listen_port: 9095, log_level: "warn" },
    common: {
      path_prefix: d,
      replication_factor: 1,
      ring: { kvstore: { store: "inmemory" }, instance_addr: "127.0.0.1" },
      storage: { filesystem: { chunks_directory: `${d}/chunks`, rules_directory: `${d}/rules` } },
    },
    schema_config: {
      configs: [
        {
          from: "2024-01-01",
          store: "tsdb",
          object_store: "filesystem",
          schema: "v13",
          index: { prefix: "index_", period: "24h" },
        },
      ],
    },
    storage_config: {
      tsdb_shipper: {
        active_index_directory: `${d}/tsdb-index`,
        cache_location: `${d}/tsdb-cache`,
      },
    },
    compactor: {
      working_directory: `${d}/compactor`,
      compaction_interval: "10m",
      retention_enabled: true,
      retention_delete_delay: "2h",
      delete_request_store: "filesystem",
    },
    limits_config: {
      retention_period: p.retention,
      ingestion_rate_mb: 2,
      ingestion_burst_size_mb: 4,
      per_stream_rate_limit: "1MB",
      max_query_series: 500,
      max_query_parallelism: 2,
      reject_old_samples: true,
      reject_old_samples_max_age: "168h",
    },
    // Small caches: a Pi has little memory to spare, and a single user queries rarely.
    query_range: {
      results_cache: { cache: { embedded_cache: { enabled: true, max_size_mb: 32 } } },
    },
    chunk_store_config: {
      chunk_cache_config: { embedded_cache: { enabled: true, max_size_mb: 32 } },
    },
    querier: { max_concurrent: 2 },
    ingester: { chunk_encoding: "snappy", chunk_idle_period: "30m" },
    analytics: { reporting_enabled: false },
  };
}
