import * as path from "path";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { stringify } from "yaml";
import { Peer, Workload } from "../apps/workload";
import { recommendedLabels } from "../lib/labels";
import type { ResourceSizes } from "../security/namespace";
import { monitoringImages } from "../versions";
import { clusterReader } from "./rbac";
import { fluentBitConfig } from "./fluent-bit-config";
import { AUDIT } from "../cluster/audit-policy";

export interface LogAgentArgs {
  /** Namespace for node agents. Required. */
  namespace: string;
  /** Loki's host, port and peer. Required. */
  loki: { host: pulumi.Input<string>; port: number; peer: Peer };
  /** Requests and limits (per node). Required. */
  resources: ResourceSizes;
  /** Who scrapes its metrics (Prometheus). Required. */
  scraper: Peer;
}

/** Where K3sCluster has the API server write its audit log on server nodes. */
const K3S_AUDIT_LOG_DIR = path.posix.dirname(AUDIT.logFile);
/** Fluent Bit's HTTP port (health and /api/v1/metrics/prometheus). */
export const LOG_AGENT_PORT = 2020;
const HTTP_PORT = LOG_AGENT_PORT;
const STATE = "/var/lib/fluent-bit";

/**
 * Fluent Bit on every node: ships every container's log lines to Loki with the pod's namespace,
 * name, container and labels, and the K3s audit log where there is one. It runs as root (the
 * kubelet writes the logs root-only readable) with no capabilities and a read-only root filesystem;
 * it reads /var/log and the audit log directory read-only and keeps its read positions in a host
 * directory of its own. Its exemptions name the policies and say so.
 */
export class LogAgent extends pulumi.ComponentResource {
  constructor(name: string, args: LogAgentArgs, opts?: pulumi.ComponentResourceOptions) {
    super("auditflow:monitoring:LogAgent", name, {}, opts);
    const identity = { name: "fluent-bit", component: "logging" };
    const labels = recommendedLabels(identity);
    const config = new k8s.core.v1.ConfigMap(
      `${name}-config`,
      {
        metadata: { namespace: args.namespace, labels },
        data: pulumi.output(args.loki.host).apply((lokiHost) => ({
          "fluent-bit.yaml": stringify(
            fluentBitConfig({
              lokiHost,
              lokiPort: args.loki.port,
              stateDir: STATE,
              auditLogPath: AUDIT.logFile,
              httpPort: HTTP_PORT,
            }),
          ),
        })),
      },
      { parent: this },
    );
    const workload = new Workload(
      name,
      {
        namespace: args.namespace,
        identity,
        kind: "DaemonSet",
        replicas: 1,
        automountServiceAccountToken: true,
        podAnnotations: {
          "prometheus.io/scrape": "true",
          "prometheus.io/port": String(HTTP_PORT),
          "prometheus.io/path": "/api/v2/metrics/prometheus",
        },
        host: {
          paths: [
            { name: "varlog", path: "/var/log", mountPath: "/var/log", readOnly: true },
            {
              name: "k3s-logs",
              path: K3S_AUDIT_LOG_DIR,
              mountPath: K3S_AUDIT_LOG_DIR,
              readOnly: true,
              type: "DirectoryOrCreate",
            },
            {
              name: "state",
              path: "/var/lib/auditflow-fluent-bit",
              mountPath: STATE,
              readOnly: false,
              type: "DirectoryOrCreate",
            },
          ],
        },
        exemptions: {
          policies: ["no-host-path", "run-as-non-root"],
          reason:
            "the log agent reads every container's log under /var/log/pods and the K3s audit log, which only root may read, and keeps its read positions on the node so a restart does not resend; it runs as root without capabilities, read-only except its own state directory",
        },
        service: false,
        containers: [
          {
            name: "fluent-bit",
            image: monitoringImages.fluentBit,
            args: ["-c", "/fluent-bit/etc/fluent-bit.yaml"],
            env: [{ name: "NODE_NAME", valueFrom: { fieldRef: { fieldPath: "spec.nodeName" } } }],
            ports: [{ name: "http", containerPort: HTTP_PORT }],
            resources: args.resources,
            runAsRoot: true,
            livenessProbe: { httpGet: { path: "/", port: "http" }, periodSeconds: 20 },
            readinessProbe: {
              httpGet: { path: "/api/v1/health", port: "http" },
              periodSeconds: 10,
            },
            volumeMounts: [{ name: "config", mountPath: "/fluent-bit/etc", readOnly: true }],
          },
        ],
        volumes: [{ name: "config", configMap: { name: config.metadata.name } }],
        ingress: [{ from: [args.scraper], ports: [HTTP_PORT] }],
        egress: [{ to: [args.loki.peer], ports: [args.loki.port] }],
      },
      { parent: this },
    );
    clusterReader(
      name,
      {
        labels,
        // The kubernetes filter looks up each log's pod (labels) and namespace.
        rules: [
          { apiGroups: [""], resources: ["pods", "namespaces"], verbs: ["get", "list", "watch"] },
        ],
        serviceAccount: { name: workload.serviceAccountName, namespace: args.namespace },
      },
      this,
    );
    this.registerOutputs({});
  }
}
