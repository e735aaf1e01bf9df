import { RuleGroup } from "./types";

/**
 * Node health from node-exporter: disks (80% used, and predicted to fill within a day), memory,
 * CPU and clock. A Raspberry Pi has no RTC, so a clock that drifts after a reboot without NTP
 * breaks TLS and etcd: it is alerted like a full disk.
 */
export function nodeRules(): RuleGroup {
  const fs = 'fstype!~"tmpfs|ramfs|squashfs|overlay|nsfs",mountpoint!~"/run.*|/var/lib/kubelet/.*"';
  return {
    name: "node",
    rules: [
      {
        alert: "NodeFilesystemAlmostFull",
        expr: `(1 - node_filesystem_avail_bytes{${fs}} / node_filesystem_size_bytes{${fs}}) > 0.80 and node_filesystem_readonly{${fs}} == 0`,
        for: "15m",
        severity: "warning",
        summary: "Filesystem {{ $labels.mountpoint }} on {{ $labels.instance }} is over 80% full",
        description:
          "{{ $labels.device }} mounted at {{ $labels.mountpoint }} on {{ $labels.instance }} has less than 20% space left; at 100% PostgreSQL, Loki and the kubelet stop writing.",
        runbook:
          "Find the biggest directories (du -xh --max-depth=2 {{ $labels.mountpoint }} | sort -h); prune old images (k3s crictl rmi --prune) or shorten Loki/Prometheus retention.",
      },
      {
        alert: "NodeFilesystemFillingUp",
        expr: `predict_linear(node_filesystem_avail_bytes{${fs}}[6h], 24 * 3600) < 0 and (node_filesystem_avail_bytes{${fs}} / node_filesystem_size_bytes{${fs}}) < 0.40 and node_filesystem_readonly{${fs}} == 0`,
        for: "1h",
        severity: "warning",
        summary:
          "Filesystem {{ $labels.mountpoint }} on {{ $labels.instance }} will be full within 24 hours",
        description:
          "At the growth rate of the last 6 hours, {{ $labels.mountpoint }} on {{ $labels.instance }} runs out of space within a day.",
        runbook:
          "Find what grows (container logs under /var/log/pods, Loki or Prometheus volumes, backups) and stop it before it fills the disk.",
      },
      {
        alert: "NodeMemoryHigh",
        expr: "(1 - node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes) > 0.90",
        for: "15m",
        severity: "warning",
        summary: "Node {{ $labels.instance }} has used over 90% of its memory",
        description:
          "Less than 10% of memory is available on {{ $labels.instance }}; the kernel's OOM killer or kubelet evictions are next.",
        runbook:
          "Check which pods use most memory (Cluster dashboard, memory by pod) and whether their limits are too high for the node.",
      },
      {
        alert: "NodeCPUHigh",
        expr: '1 - avg by (instance) (rate(node_cpu_seconds_total{mode="idle"}[5m])) > 0.90',
        for: "30m",
        severity: "warning",
        summary: "Node {{ $labels.instance }} CPU has been over 90% busy for 30 minutes",
        description:
          "{{ $labels.instance }} has had almost no idle CPU for half an hour; requests slow down and probes may start failing.",
        runbook:
          "Find the busiest pods (Cluster dashboard, CPU by pod); check CPUThrottlingHigh and whether a workload should move to a bigger node.",
      },
      {
        alert: "NodeClockSkew",
        expr: "(abs(node_timex_offset_seconds) > 0.05 and deriv(node_timex_offset_seconds[5m]) >= 0) or node_timex_sync_status == 0",
        for: "10m",
        severity: "warning",
        summary: "Clock on {{ $labels.instance }} is not synchronised",
        description:
          "The clock of {{ $labels.instance }} is off by more than 50 ms or not synchronised; TLS, etcd leases and log ordering depend on it.",
        runbook:
          "Check the time service on the node (timedatectl status; systemctl status systemd-timesyncd) and that NTP (UDP 123) is reachable.",
      },
    ],
  };
}
