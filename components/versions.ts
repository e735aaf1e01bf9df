/**
 * Every image, chart and tool version the platform deploys, pinned in one place.
 *
 * Tags are exact versions (never `latest`); stacks may override an AuditFlow service image in config
 * (for example with a digest produced by the image build), but platform images come only from here.
 */

/** The K3s release the stacks install and whose Kubernetes API version the manifests target. */
export const k3s = {
  version: "v1.31.6+k3s1",
  /** Kubernetes minor version of that release, used for API deprecation checks. */
  kubernetesMinor: "1.31",
} as const;

/** AuditFlow service images. Built for linux/amd64 and linux/arm64. */
export const auditflowImages = {
  "audit-event-generator": "ghcr.io/auditflow/audit-event-generator:0.4.2",
  "audit-log-analysis": "ghcr.io/auditflow/audit-log-analysis:0.4.2",
  "event-audit-dashboard": "ghcr.io/auditflow/event-audit-dashboard:0.4.2",
  "notification-service": "ghcr.io/auditflow/notification-service:0.4.2",
} as const;

/** Third-party platform images (all multi-arch: linux/amd64 and linux/arm64). */
export const platformImages = {
  postgres: "docker.io/library/postgres:16.6-alpine3.21",
  postgresExporter: "quay.io/prometheuscommunity/postgres-exporter:v0.16.0",
  pgbouncer: "docker.io/edoburu/pgbouncer:v1.24.1-p0",
  redis: "docker.io/library/redis:7.4.2-alpine3.21",
  redisExporter: "docker.io/oliver006/redis_exporter:v1.67.0",
  rabbitmq: "docker.io/library/rabbitmq:3.13.7-management-alpine",
  /**
   * PostgreSQL 16 client tools plus age and curl (>= 7.75, for SigV4-signed off-site copies), for
   * the backup jobs. Defined by components/images/postgres-backup/Dockerfile (the server's image
   * plus `apk add age curl`); no public image ships all three. The scripts use only POSIX sh and tools
   * BusyBox also provides (sha256sum -c, awk, cmp).
   */
  postgresBackup: "ghcr.io/auditflow/postgres-backup:16.6-age1.2.1",
} as const;

/**
 * kube-vip: the virtual IP of the API server and of LoadBalancer Services (ARP mode), and its cloud
 * provider, which hands Services addresses from the configured range. Deployed by K3s itself from
 * its manifests directory on the servers (see components/cluster/kube-vip.ts).
 */
export const kubeVipImages = {
  kubeVip: "ghcr.io/kube-vip/kube-vip:v0.8.9",
  cloudProvider: "ghcr.io/kube-vip/kube-vip-cloud-provider:v0.0.12",
} as const;
