/**
 * The K3s configuration file of each node (/etc/rancher/k3s/config.yaml), typed and rendered to
 * YAML. Every flag lives here rather than on the command line, so the join token and the snapshot
 * store's key are never in a command's text or a process listing; the file is written mode 0600.
 */
import { createHash } from "node:crypto";
import { stringify } from "yaml";
import { AUDIT } from "./audit-policy";

/** etcd snapshots: scheduled, kept on the servers and copied to an S3-compatible store. */
export interface EtcdSnapshotArgs {
  /** Five-field cron schedule, e.g. "0 *\/6 * * *". */
  schedule: string;
  /** Snapshots kept per server (and in the store). */
  retention: number;
  /** The off-site store; without it snapshots stay on the servers only. */
  s3?: EtcdS3Args;
}

export interface EtcdS3Args {
  /** https://host[:port] of the store. */
  endpoint: string;
  bucket: string;
  /** Folder in the bucket. */
  folder: string;
  region?: string;
  accessKeyId: string;
  /** PEM bundle of the store's CA when it is not publicly trusted. */
  caBundle?: string;
}

/** What one node's K3s is configured with (the secrets are filled in by the component). */
export interface K3sNodeConfig {
  role: "server" | "agent";
  nodeName: string;
  /** Initialise the cluster (first server, embedded etcd). */
  clusterInit: boolean;
  /** Server to join; absent on the first server. */
  serverUrl?: string;
  /** Names and addresses the API certificate is valid for. */
  tlsSans: string[];
  containerLogMaxSize: string;
  containerLogMaxFiles: number;
  etcd?: EtcdSnapshotArgs;
}

export const ETCD_S3_CA_FILE = "/etc/rancher/k3s/etcd-s3-ca.pem";

/** The config file as a typed object; `secrets` are written in only when rendering. */
export function k3sConfigObject(
  c: K3sNodeConfig,
  secrets: { token: string; s3SecretKey?: string },
): Record<string, unknown> {
  const o: Record<string, unknown> = {
    token: secrets.token,
    "node-name": c.nodeName,
    ...(c.serverUrl ? { server: c.serverUrl } : {}),
    "kubelet-arg": [
      `container-log-max-size=${c.containerLogMaxSize}`,
      `container-log-max-files=${c.containerLogMaxFiles}`,
    ],
  };
  if (c.role === "agent") return o;
  Object.assign(o, {
    ...(c.clusterInit ? { "cluster-init": true } : {}),
    "tls-san": c.tlsSans,
    // kube-vip announces LoadBalancer addresses; K3s' servicelb would publish node addresses.
    disable: ["servicelb"],
    "secrets-encryption": true,
    "write-kubeconfig-mode": "0600",
    "kube-apiserver-arg": [
      `audit-policy-file=${AUDIT.policyFile}`,
      `audit-log-path=${AUDIT.logFile}`,
      `audit-log-maxage=${AUDIT.maxAgeDays}`,
      `audit-log-maxbackup=${AUDIT.maxBackups}`,
      `audit-log-maxsize=${AUDIT.maxSizeMb}`,
    ],
  });
  if (c.etcd) {
    Object.assign(o, {
      "etcd-snapshot-schedule-cron": c.etcd.schedule,
      "etcd-snapshot-retention": c.etcd.retention,
      "etcd-snapshot-compress": true,
    });
    const s3 = c.etcd.s3;
    if (s3) {
      const url = new URL(s3.endpoint);
      Object.assign(o, {
        "etcd-s3": true,
        "etcd-s3-endpoint": url.host,
        "etcd-s3-bucket": s3.bucket,
        "etcd-s3-folder": s3.folder,
        ...(s3.region ? { "etcd-s3-region": s3.region } : {}),
        ...(url.protocol === "http:" ? { "etcd-s3-insecure": true } : {}),
        ...(s3.caBundle ? { "etcd-s3-endpoint-ca": ETCD_S3_CA_FILE } : {}),
        "etcd-s3-access-key": s3.accessKeyId,
        "etcd-s3-secret-key": secrets.s3SecretKey ?? "",
      });
    }
  }
  return o;
}

/** The file's text. */
export function renderK3sConfig(
  c: K3sNodeConfig,
  secrets: { token: string; s3SecretKey?: string },
): string {
  return stringify(k3sConfigObject(c, secrets));
}

/**
 * A digest of the configuration with the secrets left out (so it can be shown and stored on the
 * Node as an annotation): the drain step compares it with what the node runs to skip a drain
 * when nothing changes.
 */
export function configDigest(c: K3sNodeConfig, version: string, extra: string[] = []): string {
  const h = createHash("sha256");
  h.update(version);
  h.update(renderK3sConfig(c, { token: "", s3SecretKey: "" }));
  for (const e of extra) h.update(e);
  return h.digest("hex").slice(0, 16);
}
