import { bytes, cpuMillis, formatCpu, formatMi } from "../lib/quantity";
import type { PlatformNamespaceArgs, ResourceSizes } from "../security/namespace";
import type { MonitoringSizes } from "./monitoring";

export type NamespaceQuota = NonNullable<PlatformNamespaceArgs["quota"]>;

/**
 * How many pods of each part the quota must hold at once, a rolling update included. A pod being
 * deleted counts against its quota until it is gone (its grace period), so every replacement
 * briefly holds two: Grafana and kube-state-metrics are one-replica Deployments with maxSurge 1
 * (the new pod, then the old one terminating); Prometheus, Alertmanager and Loki are one-replica
 * StatefulSets, whose controller creates the new pod while the old one may still be terminating;
 * node-exporter and the log agent are DaemonSets (one pod per node, replaced one node at a time),
 * in the node agents' namespace. Without the second pod, the cluster twin's rollout of every part
 * at once saw the StatefulSets' and DaemonSets' new pods refused with `exceeded quota`.
 */
const PODS: Record<keyof MonitoringSizes, { node: boolean; pods: (nodes: number) => number }> = {
  prometheus: { node: false, pods: () => 2 },
  alertmanager: { node: false, pods: () => 2 },
  loki: { node: false, pods: () => 2 },
  grafana: { node: false, pods: () => 2 },
  kubeStateMetrics: { node: false, pods: () => 2 },
  nodeExporter: { node: true, pods: (nodes) => nodes + 1 },
  logAgent: { node: true, pods: (nodes) => nodes + 1 },
};

/** Requests and limits of containers that declare none in the monitoring namespaces (LimitRange). */
export const MONITORING_CONTAINER_DEFAULTS: ResourceSizes = {
  requests: { cpu: "10m", memory: "32Mi" },
  limits: { cpu: "100m", memory: "64Mi" },
};

/**
 * The ResourceQuotas of the monitoring namespace and the node agents' namespace, computed from the
 * parts' own requests and limits (each part runs one container): exactly what the pods need at
 * their peak, a rolling update included, so nothing else fits beside them. `storage` lists the
 * volume claims of the monitoring namespace (Prometheus, Loki, Alertmanager).
 */
export function monitoringQuotas(
  sizes: MonitoringSizes,
  p: { nodes: number; storage: string[] },
): { monitoring: NamespaceQuota; node: NamespaceQuota } {
  if (!Number.isInteger(p.nodes) || p.nodes < 1) {
    throw new Error(`monitoringQuotas: nodes must be a whole number >= 1 (got ${p.nodes})`);
  }
  const sum = (node: boolean): NamespaceQuota => {
    const parts = (Object.keys(PODS) as (keyof MonitoringSizes)[]).filter(
      (k) => PODS[k].node === node,
    );
    const total = (f: (s: ResourceSizes) => number) =>
      parts.reduce((acc, k) => acc + f(sizes[k]) * PODS[k].pods(p.nodes), 0);
    return {
      requestsCpu: formatCpu(total((s) => cpuMillis(s.requests.cpu))),
      requestsMemory: formatMi(total((s) => bytes(s.requests.memory))),
      limitsCpu: formatCpu(total((s) => cpuMillis(s.limits.cpu))),
      limitsMemory: formatMi(total((s) => bytes(s.limits.memory))),
      pods: parts.reduce((acc, k) => acc + PODS[k].pods(p.nodes), 0),
    };
  };
  return {
    monitoring: {
      ...sum(false),
      persistentVolumeClaims: p.storage.length,
      requestsStorage: formatMi(p.storage.reduce((acc, s) => acc + bytes(s), 0)),
    },
    node: sum(true),
  };
}
