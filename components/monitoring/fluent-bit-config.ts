/**
 * The log agent's (Fluent Bit) configuration, YAML format: tails every container's log on its
 * node, adds the pod's namespace, name, container and labels from the API server, and ships the
 * lines to Loki. On servers it also ships the K3s API server's audit log (`job="k3s-audit"`).
 */

export interface FluentBitParams {
  /** Loki's host name and port. */
  lokiHost: string;
  lokiPort: number;
  /** Where the agent keeps its read positions (a host directory, so restarts do not resend). */
  stateDir: string;
  /** The K3s audit log on server nodes (absent on agents: the input then finds no file). */
  auditLogPath: string;
  /** HTTP port of the agent's health and metrics endpoints. */
  httpPort: number;
}

export function fluentBitConfig(p: FluentBitParams): Record<string, unknown> {
  const loki = {
    name: "loki",
    host: p.lokiHost,
    port: p.lokiPort,
    line_format: "key_value",
    drop_single_key: "raw",
  };
  return {
    service: {
      flush: 5,
      log_level: "warn",
      http_server: "on",
      http_listen: "0.0.0.0",
      http_port: p.httpPort,
      health_check: "on",
    },
    pipeline: {
      inputs: [
        {
          name: "tail",
          tag: "kube.*",
          path: "/var/log/containers/*.log",
          "multiline.parser": "cri",
          db: `${p.stateDir}/containers.db`,
          mem_buf_limit: "8MB",
          skip_long_lines: "on",
          refresh_interval: 10,
        },
        {
          name: "tail",
          tag: "k3s-audit",
          path: p.auditLogPath,
          db: `${p.stateDir}/audit.db`,
          mem_buf_limit: "4MB",
          skip_long_lines: "on",
        },
      ],
      filters: [
        {
          name: "kubernetes",
          match: "kube.*",
          kube_url: "https://kubernetes.default.svc:443",
          kube_tag_prefix: "kube.var.log.containers.",
          merge_log: "off",
          labels: "on",
          annotations: "off",
        },
      ],
      outputs: [
        {
          ...loki,
          match: "kube.*",
          labels:
            "job=kubernetes, node=${NODE_NAME}, namespace=$kubernetes['namespace_name'], pod=$kubernetes['pod_name'], container=$kubernetes['container_name']",
          auto_kubernetes_labels: "on",
          remove_keys: "kubernetes,stream,_p",
          drop_single_key: "on",
          line_format: "json",
        },
        {
          ...loki,
          match: "k3s-audit",
          labels: "job=k3s-audit, node=${NODE_NAME}",
          line_format: "json",
        },
      ],
    },
  };
}
