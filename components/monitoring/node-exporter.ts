import * as pulumi from "@pulumi/pulumi";
import { Workload } from "../apps/workload";
import type { ResourceSizes } from "../security/namespace";
import { monitoringImages } from "../versions";

export interface NodeExporterArgs {
  /** Namespace for node agents (Pod Security privileged: host namespaces and paths). Required. */
  namespace: string;
  /** Requests and limits (per node). Required. */
  resources: ResourceSizes;
}

/** node-exporter's port on every node (host network). */
export const NODE_EXPORTER_PORT = 9100;

/**
 * node-exporter on every node. Host access is what it is for: it reads the host's /proc, /sys and
 * root filesystem (read-only) in the host's PID and network namespaces, as nobody (UID 65534), with
 * no capabilities. Its exemptions name the policies and say so.
 */
export class NodeExporter extends pulumi.ComponentResource {
  constructor(name: string, args: NodeExporterArgs, opts?: pulumi.ComponentResourceOptions) {
    super("auditflow:monitoring:NodeExporter", name, {}, opts);
    const port = NODE_EXPORTER_PORT;
    const workload = new Workload(
      name,
      {
        namespace: args.namespace,
        identity: { name: "node-exporter", component: "monitoring" },
        kind: "DaemonSet",
        replicas: 1,
        podSecurity: { runAsUser: 65534 },
        podAnnotations: { "prometheus.io/scrape": "true", "prometheus.io/port": String(port) },
        host: {
          network: true,
          pid: true,
          paths: [
            { name: "proc", path: "/proc", mountPath: "/host/proc", readOnly: true },
            { name: "sys", path: "/sys", mountPath: "/host/sys", readOnly: true },
            { name: "root", path: "/", mountPath: "/host/root", readOnly: true },
          ],
        },
        exemptions: {
          policies: ["no-host-namespaces", "no-host-path", "no-host-port"],
          reason:
            "node-exporter reports the node itself: it reads the host's /proc, /sys and filesystems read-only, in the host's PID and network namespaces (so its port is a host port); it runs as nobody without capabilities",
        },
        service: false,
        containers: [
          {
            name: "node-exporter",
            image: monitoringImages.nodeExporter,
            args: [
              "--path.procfs=/host/proc",
              "--path.sysfs=/host/sys",
              "--path.rootfs=/host/root",
              `--web.listen-address=:${port}`,
              "--collector.filesystem.mount-points-exclude=^/(dev|proc|sys|run|var/lib/kubelet/.+|var/lib/rancher/k3s/agent/containerd/.+)($|/)",
              "--no-collector.wifi",
              "--no-collector.hwmon",
            ],
            ports: [{ name: "metrics", containerPort: port }],
            resources: args.resources,
            livenessProbe: { httpGet: { path: "/", port: "metrics" }, periodSeconds: 20 },
            readinessProbe: { httpGet: { path: "/", port: "metrics" }, periodSeconds: 10 },
          },
        ],
      },
      { parent: this },
    );
    this.registerOutputs({ serviceAccountName: workload.serviceAccountName });
  }
}
