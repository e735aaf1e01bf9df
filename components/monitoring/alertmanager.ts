import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { stringify } from "yaml";
import { Peer, Workload } from "../apps/workload";
import { recommendedLabels } from "../lib/labels";
import type { ResourceSizes } from "../security/namespace";
import { monitoringImages } from "../versions";
import { alertmanagerConfig, ReceiverSpec } from "./alertmanager-config";

export interface AlertmanagerArgs {
  /** Namespace (the monitoring namespace). Required. */
  namespace: string;
  /** Receivers and the severities they get. Defaults to none (alerts are only shown in the UI). */
  receivers?: ReceiverSpec[];
  /** SMTP settings for e-mail receivers. Defaults to none. */
  smtp?: { smarthost: string; from: string; authUsername?: string; requireTls?: boolean };
  /** SMTP password (secret). Defaults to none. */
  smtpPassword?: pulumi.Input<string>;
  /** Slack incoming-webhook URL (secret). Defaults to none. */
  slackApiUrl?: pulumi.Input<string>;
  /** Volume for silences and notification state. Required. */
  storage: string;
  storageClass?: string;
  /** Requests and limits. Required. */
  resources: ResourceSizes;
  /** Who sends alerts and scrapes its /metrics (Prometheus). Required. */
  clients: Peer[];
}

/** The ports the receivers are reached on: each webhook's, the SMTP smarthost's, Slack's 443. */
export function receiverPorts(args: Pick<AlertmanagerArgs, "receivers" | "smtp">): number[] {
  const ports = new Set<number>();
  for (const r of args.receivers ?? []) {
    if (r.webhook) {
      const u = new URL(r.webhook.url);
      ports.add(u.port ? Number(u.port) : u.protocol === "http:" ? 80 : 443);
    }
    if (r.slack) ports.add(443);
    if (r.email && args.smtp) ports.add(Number(args.smtp.smarthost.split(":").pop()));
  }
  return [...ports].sort((a, b) => a - b);
}

/** Alertmanager's HTTP port (alerts from Prometheus and /metrics). */
export const ALERTMANAGER_PORT = 9093;
const PORT = ALERTMANAGER_PORT;

/**
 * Alertmanager with routing by severity, grouping and inhibition. Its configuration holds the
 * receivers' credentials, so it is a Secret built from secret Outputs (never a ConfigMap).
 */
export class Alertmanager extends pulumi.ComponentResource {
  /** host:port for Prometheus' alerting configuration. */
  public readonly address: pulumi.Output<string>;
  public readonly peer: Peer;

  constructor(name: string, args: AlertmanagerArgs, opts?: pulumi.ComponentResourceOptions) {
    super("auditflow:monitoring:Alertmanager", name, {}, opts);
    const identity = { name: "alertmanager", component: "monitoring" };
    const config = new k8s.core.v1.Secret(
      `${name}-config`,
      {
        metadata: { namespace: args.namespace, labels: recommendedLabels(identity) },
        stringData: pulumi.secret(
          pulumi
            .all([pulumi.output(args.smtpPassword), pulumi.output(args.slackApiUrl)])
            .apply(([smtpPassword, slackApiUrl]) => ({
              "alertmanager.yml": stringify(
                alertmanagerConfig({
                  receivers: args.receivers ?? [],
                  smtp: args.smtp,
                  secrets: { smtpPassword, slackApiUrl },
                }),
                { lineWidth: 0 },
              ),
            })),
        ),
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
        podSecurity: { runAsUser: 65534 },
        podAnnotations: { "prometheus.io/scrape": "true", "prometheus.io/port": String(PORT) },
        containers: [
          {
            name: "alertmanager",
            image: monitoringImages.alertmanager,
            args: [
              "--config.file=/etc/alertmanager/alertmanager.yml",
              "--storage.path=/alertmanager",
              `--web.listen-address=:${PORT}`,
              // One replica: no gossip with peers.
              "--cluster.listen-address=",
            ],
            ports: [{ name: "http", containerPort: PORT }],
            resources: args.resources,
            livenessProbe: { httpGet: { path: "/-/healthy", port: "http" }, periodSeconds: 15 },
            readinessProbe: { httpGet: { path: "/-/ready", port: "http" }, periodSeconds: 10 },
            volumeMounts: [{ name: "config", mountPath: "/etc/alertmanager", readOnly: true }],
          },
        ],
        volumes: [{ name: "config", secret: { secretName: config.metadata.name } }],
        persistentVolume: {
          name: "data",
          mountPath: "/alertmanager",
          size: args.storage,
          storageClass: args.storageClass,
        },
        ingress: [{ from: args.clients, ports: [PORT] }],
        // Receivers are outside the cluster: anywhere, but only on the receivers' ports.
        egress: receiverPorts(args).length
          ? [{ to: [{ cidr: "0.0.0.0/0" }], ports: receiverPorts(args) }]
          : [],
      },
      { parent: this },
    );
    this.peer = workload.peer;
    this.address = pulumi.interpolate`${workload.host!}:${PORT}`;
    this.registerOutputs({ address: this.address });
  }
}
