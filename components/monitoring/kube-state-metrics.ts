import * as pulumi from "@pulumi/pulumi";
import { Peer, Workload } from "../apps/workload";
import { recommendedLabels } from "../lib/labels";
import type { ResourceSizes } from "../security/namespace";
import { monitoringImages } from "../versions";
import { clusterReader } from "./rbac";

export interface KubeStateMetricsArgs {
  /** Namespace (the monitoring namespace). Required. */
  namespace: string;
  /** Requests and limits. Required. */
  resources: ResourceSizes;
  /** Who scrapes it (Prometheus). Required. */
  scraper: Peer;
}

/** kube-state-metrics' metrics port. */
export const KSM_PORT = 8080;
const PORT = KSM_PORT;

/**
 * The object kinds kube-state-metrics reports (its --resources flag) and may list and watch; the
 * alerts and dashboards use these only. No Secrets, ConfigMaps or anything else.
 */
export const KSM_RESOURCES: Record<string, { apiGroup: string; plural: string }> = {
  pods: { apiGroup: "", plural: "pods" },
  nodes: { apiGroup: "", plural: "nodes" },
  namespaces: { apiGroup: "", plural: "namespaces" },
  persistentvolumeclaims: { apiGroup: "", plural: "persistentvolumeclaims" },
  deployments: { apiGroup: "apps", plural: "deployments" },
  statefulsets: { apiGroup: "apps", plural: "statefulsets" },
  daemonsets: { apiGroup: "apps", plural: "daemonsets" },
  replicasets: { apiGroup: "apps", plural: "replicasets" },
  jobs: { apiGroup: "batch", plural: "jobs" },
  cronjobs: { apiGroup: "batch", plural: "cronjobs" },
};

/** kube-state-metrics: object state (replicas, pod phases, job results) as metrics. */
export class KubeStateMetrics extends pulumi.ComponentResource {
  constructor(name: string, args: KubeStateMetricsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("auditflow:monitoring:KubeStateMetrics", name, {}, opts);
    const identity = { name: "kube-state-metrics", component: "monitoring" };
    const labels = recommendedLabels(identity);
    const workload = new Workload(
      name,
      {
        namespace: args.namespace,
        identity,
        replicas: 1,
        automountServiceAccountToken: true,
        podSecurity: { runAsUser: 65534 },
        exemptions: {
          policies: ["ha-replicas"],
          reason:
            "a second kube-state-metrics replica would report every object twice and double every sum over its series; a restart costs one or two scrapes",
        },
        podAnnotations: { "prometheus.io/scrape": "true", "prometheus.io/port": String(PORT) },
        containers: [
          {
            name: "kube-state-metrics",
            image: monitoringImages.kubeStateMetrics,
            args: [
              `--port=${PORT}`,
              "--telemetry-port=8081",
              `--resources=${Object.keys(KSM_RESOURCES).join(",")}`,
            ],
            ports: [
              { name: "http", containerPort: PORT },
              { name: "telemetry", containerPort: 8081 },
            ],
            resources: args.resources,
            livenessProbe: { httpGet: { path: "/livez", port: "http" }, periodSeconds: 20 },
            readinessProbe: { httpGet: { path: "/readyz", port: "telemetry" }, periodSeconds: 10 },
          },
        ],
        ingress: [{ from: [args.scraper], ports: [PORT] }],
      },
      { parent: this },
    );
    const byGroup = new Map<string, string[]>();
    for (const r of Object.values(KSM_RESOURCES)) {
      byGroup.set(r.apiGroup, [...(byGroup.get(r.apiGroup) ?? []), r.plural]);
    }
    clusterReader(
      name,
      {
        labels,
        rules: [...byGroup.entries()].map(([group, resources]) => ({
          apiGroups: [group],
          resources,
          verbs: ["list", "watch"],
        })),
        serviceAccount: { name: workload.serviceAccountName, namespace: args.namespace },
      },
      this,
    );
    this.registerOutputs({});
  }
}
