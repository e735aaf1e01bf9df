import { RuleGroup } from "./types";

/**
 * Pod alerts are joined with kube_pod_info so they carry the `node` label: Alertmanager's
 * inhibition silences them while their node is not ready (one page for one cause).
 */
const onNode =
  "* on (namespace, pod) group_left (node) max by (namespace, pod, node) (kube_pod_info)";

/** Workload and cluster health from kube-state-metrics and the kubelet (cAdvisor, volume stats). */
export function kubernetesRules(): RuleGroup {
  return {
    name: "kubernetes",
    rules: [
      {
        alert: "KubePodCrashLooping",
        expr: `(max by (namespace, pod, container) (kube_pod_container_status_waiting_reason{reason="CrashLoopBackOff"}) == 1) ${onNode}`,
        for: "5m",
        severity: "warning",
        summary:
          "Container {{ $labels.container }} of {{ $labels.namespace }}/{{ $labels.pod }} is crash looping",
        description:
          "{{ $labels.namespace }}/{{ $labels.pod }} ({{ $labels.container }}) on {{ $labels.node }} keeps restarting and is in CrashLoopBackOff.",
        runbook:
          "kubectl -n {{ $labels.namespace }} logs {{ $labels.pod }} -c {{ $labels.container }} --previous; then describe the pod for OOMKilled or failing probes.",
      },
      {
        alert: "KubePodNotReady",
        expr: `(sum by (namespace, pod) (kube_pod_status_phase{phase=~"Pending|Unknown|Failed"}) > 0) ${onNode}`,
        for: "15m",
        severity: "warning",
        summary: "Pod {{ $labels.namespace }}/{{ $labels.pod }} has not been ready for 15 minutes",
        description:
          "{{ $labels.namespace }}/{{ $labels.pod }} on node {{ $labels.node }} is Pending, Unknown or Failed.",
        runbook:
          "kubectl -n {{ $labels.namespace }} describe pod {{ $labels.pod }}: look at Events for scheduling (quota, capacity), image pulls or volume mounts.",
      },
      {
        alert: "KubeDeploymentRolloutStuck",
        expr: 'kube_deployment_status_condition{condition="Progressing", status="false"} == 1',
        for: "15m",
        severity: "warning",
        summary: "Rollout of deployment {{ $labels.namespace }}/{{ $labels.deployment }} is stuck",
        description:
          "Deployment {{ $labels.namespace }}/{{ $labels.deployment }} has exceeded its progress deadline; new pods do not become ready.",
        runbook:
          "kubectl -n {{ $labels.namespace }} rollout status deployment/{{ $labels.deployment }}; describe the newest ReplicaSet's pods; roll back with kubectl rollout undo if the release is bad.",
      },
      {
        alert: "KubeDeploymentReplicasMismatch",
        expr: "kube_deployment_spec_replicas != kube_deployment_status_replicas_available",
        for: "15m",
        severity: "warning",
        summary:
          "Deployment {{ $labels.namespace }}/{{ $labels.deployment }} runs fewer pods than it should",
        description:
          "{{ $labels.namespace }}/{{ $labels.deployment }} has had fewer available replicas than desired for 15 minutes.",
        runbook:
          "kubectl -n {{ $labels.namespace }} get pods -l app.kubernetes.io/name={{ $labels.deployment }}; look for pending or crashing pods.",
      },
      {
        alert: "KubeStatefulSetReplicasMismatch",
        expr: "kube_statefulset_status_replicas_ready != kube_statefulset_replicas",
        for: "15m",
        severity: "warning",
        summary:
          "StatefulSet {{ $labels.namespace }}/{{ $labels.statefulset }} runs fewer ready pods than it should",
        description:
          "{{ $labels.namespace }}/{{ $labels.statefulset }} has had fewer ready replicas than desired for 15 minutes.",
        runbook:
          "kubectl -n {{ $labels.namespace }} describe statefulset {{ $labels.statefulset }}; a pod stuck on its volume usually means its node is gone.",
      },
      {
        alert: "KubeJobFailed",
        expr: "kube_job_failed > 0",
        for: "5m",
        severity: "warning",
        summary: "Job {{ $labels.namespace }}/{{ $labels.job_name }} failed",
        description:
          "Job {{ $labels.namespace }}/{{ $labels.job_name }} failed (migrations and backups run as Jobs).",
        runbook:
          "kubectl -n {{ $labels.namespace }} logs job/{{ $labels.job_name }}; delete the Job once handled, or it keeps the alert firing until its TTL expires.",
      },
      {
        alert: "KubePersistentVolumeFillingUp",
        expr: "kubelet_volume_stats_available_bytes / kubelet_volume_stats_capacity_bytes < 0.15 and kubelet_volume_stats_used_bytes > 0",
        for: "5m",
        severity: "warning",
        summary:
          "Volume {{ $labels.namespace }}/{{ $labels.persistentvolumeclaim }} is over 85% full",
        description:
          "PersistentVolumeClaim {{ $labels.namespace }}/{{ $labels.persistentvolumeclaim }} has less than 15% free space.",
        runbook:
          "Grow the claim in the stack config (storage size) or free space (PostgreSQL VACUUM, fewer backups kept, shorter retention).",
      },
      {
        alert: "KubeNodeNotReady",
        expr: 'kube_node_status_condition{condition="Ready", status="true"} == 0',
        for: "5m",
        severity: "critical",
        summary: "Node {{ $labels.node }} is not ready",
        description:
          "Node {{ $labels.node }} has not been Ready for 5 minutes; its pods are not served. Alerts of its pods are inhibited while this fires.",
        runbook:
          "Check the node is powered and reachable (ping, ssh); journalctl -u k3s (or k3s-agent) on it; check disk space and memory pressure.",
      },
      {
        alert: "CPUThrottlingHigh",
        expr: 'sum by (namespace, pod, container) (increase(container_cpu_cfs_throttled_periods_total{container!=""}[5m])) / sum by (namespace, pod, container) (increase(container_cpu_cfs_periods_total{container!=""}[5m])) > 0.25',
        for: "15m",
        severity: "warning",
        summary:
          "Container {{ $labels.container }} of {{ $labels.namespace }}/{{ $labels.pod }} is CPU throttled",
        description:
          "Over 25% of the CPU periods of {{ $labels.namespace }}/{{ $labels.pod }} ({{ $labels.container }}) are throttled by its CPU limit; latency suffers.",
        runbook:
          "Raise the container's CPU limit in the stack config, or find why it needs more CPU than usual.",
      },
    ],
  };
}
