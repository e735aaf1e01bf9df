import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { stringify } from "yaml";
import { Peer, Workload } from "../apps/workload";
import { recommendedLabels } from "../lib/labels";
import type { ResourceSizes } from "../security/namespace";
import { monitoringImages } from "../versions";
import { lokiConfig } from "./loki-config";

export interface LokiArgs {
  /** Namespace (the monitoring namespace). Required. */
  namespace: string;
  /** How long logs are kept (hours, a multiple of 24h, e.g. "168h"). Required. */
  retention: string;
  /** Volume size. Required. */
  storage: string;
  storageClass?: string;
  /** Requests and limits. Required. */
  resources: ResourceSizes;
  /** Who pushes (the log agent) and queries (Grafana) and scrapes (Prometheus). Required. */
  clients: Peer[];
}

/** Loki's HTTP port (push, queries and /metrics). */
export const LOKI_PORT = 3100;
const PORT = LOKI_PORT;
const DATA = "/var/loki";

/** Loki in single-binary mode on its own volume, with retention applied by the compactor. */
export class Loki extends pulumi.ComponentResource {
  public readonly url: pulumi.Output<string>;
  public readonly host: pulumi.Output<string>;
  public readonly port = PORT;
  public readonly peer: Peer;

  constructor(name: string, args: LokiArgs, opts?: pulumi.ComponentResourceOptions) {
    super("auditflow:monitoring:Loki", name, {}, opts);
    const identity = { name: "loki", component: "monitoring" };
    const config = new k8s.core.v1.ConfigMap(
      `${name}-config`,
      {
        metadata: { namespace: args.namespace, labels: recommendedLabels(identity) },
        data: {
          "loki.yaml": stringify(
            lokiConfig({ retention: args.retention, dataDir: DATA, port: PORT }),
          ),
        },
      },
      { parent: this },
    );
    const workload = new Workload(
      name,
      {
        namespace: args.namespace,
        identity,
        kind: "StatefulSet",
        replicas: 1,
        podSecurity: { runAsUser: 10001 },
        podAnnotations: { "prometheus.io/scrape": "true", "prometheus.io/port": String(PORT) },
        containers: [
          {
            name: "loki",
            image: monitoringImages.loki,
            args: ["-config.file=/etc/loki/loki.yaml", "-target=all"],
            ports: [{ name: "http", containerPort: PORT }],
            resources: args.resources,
            startupProbe: {
              httpGet: { path: "/ready", port: "http" },
              periodSeconds: 10,
              failureThreshold: 30,
            },
            livenessProbe: { tcpSocket: { port: "http" }, periodSeconds: 20 },
            readinessProbe: { httpGet: { path: "/ready", port: "http" }, periodSeconds: 10 },
            volumeMounts: [{ name: "config", mountPath: "/etc/loki", readOnly: true }],
          },
        ],
        volumes: [{ name: "config", configMap: { name: config.metadata.name } }],
        persistentVolume: {
          name: "data",
          mountPath: DATA,
          size: args.storage,
          storageClass: args.storageClass,
        },
        ingress: [{ from: args.clients, ports: [PORT] }],
      },
      { parent: this },
    );
    this.peer = workload.peer;
    this.host = workload.host!;
    this.url = pulumi.interpolate`http://${workload.host!}:${PORT}`;
    this.registerOutputs({ url: this.url });
  }
}
