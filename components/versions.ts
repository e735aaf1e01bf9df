/**
 * Every image, chart and tool version the platform deploys, pinned in one place.
 *
 * Tags are exact versions (never `latest`); stacks may override an AuditFlow service image in config
 * (for example with a digest produced by the image build), but platform images come only from here.
 */

/**
 * The K3s release the stacks install and whose Kubernetes API version the manifests target. The
 * cluster twin (scripts/twin.ts) runs the Kubernetes components of the same release
 * (tools/twin/k8s/go.mod pins k8s.io/kubernetes; a unit test keeps the two in step).
 */
export const k3s = {
  version: "v1.34.3+k3s1",
  /** Kubernetes minor version of that release, used for API deprecation checks. */
  kubernetesMinor: "1.34",
} as const;

/** AuditFlow service images. Built for linux/amd64 and linux/arm64. */
export const auditflowImages = {
  "audit-event-generator": "ghcr.io/auditflow/audit-event-generator:0.4.2",
  "audit-log-analysis": "ghcr.io/auditflow/audit-log-analysis:0.4.2",
  "event-audit-dashboard": "ghcr.io/auditflow/event-audit-dashboard:0.4.2",
  "notification-service": "ghcr.io/auditflow/notification-service:0.4.2",
} as const;

/**
 * Third-party platform images, pinned by tag and by the digest of their multi-platform manifest list
 * (a re-pushed tag cannot change what runs; the tag stays for readers and for the version label).
 * The digests were taken from public repositories that pin the same tags (this machine cannot reach
 * the registries); the program's registry look-up (components/images/pulled-image.ts) checks each one
 * and its platforms at preview wherever the registry is reachable.
 */
export const platformImages = {
  postgres:
    "docker.io/library/postgres:16.6-alpine3.21@sha256:1d04b9ba1d4996401f2552b51beda8187f175c0645c091e4781134fc9c9a3eef",
  postgresExporter:
    "quay.io/prometheuscommunity/postgres-exporter:v0.16.0@sha256:6999a7657e2f2fb0ca6ebf417213eebf6dc7d21b30708c622f6fcb11183a2bb0",
  pgbouncer:
    "docker.io/edoburu/pgbouncer:v1.24.1-p0@sha256:53d98b3174b0842c475b9842fb0a733b2d9f7ec9da834ec42252aa553f48c628",
  /** The same version tools/pgbouncer-exporter/go.mod builds for the conformance tier. */
  pgbouncerExporter:
    "quay.io/prometheuscommunity/pgbouncer-exporter:v0.12.1@sha256:30f31b6c2efdad3647f8182cc7c1a3a19e42bae5d17387694989f969371c230d",
  redis:
    "docker.io/library/redis:7.4.2-alpine3.21@sha256:02419de7eddf55aa5bcf49efb74e88fa8d931b4d77c07eff8a6b2144472b6952",
  redisExporter:
    "quay.io/oliver006/redis_exporter:v1.67.0@sha256:120f7ec77293459ccfdad66bb1db75ab72e8bfeab99f58b1cc2564cadcd7a9e7",
  rabbitmq:
    "docker.io/library/rabbitmq:3.13.7-management-alpine@sha256:3c498e636fd64462480c5f9ff842eb224ab84160a8ada1ded5375e9569e9230c",
} as const;

/** The platforms each third-party image's manifest list holds (all are multi-arch). */
export const platformImagePlatforms: Readonly<
  Record<keyof typeof platformImages, readonly ("linux/amd64" | "linux/arm64")[]>
> = {
  postgres: ["linux/amd64", "linux/arm64"],
  postgresExporter: ["linux/amd64", "linux/arm64"],
  pgbouncer: ["linux/amd64", "linux/arm64"],
  pgbouncerExporter: ["linux/amd64", "linux/arm64"],
  redis: ["linux/amd64", "linux/arm64"],
  redisExporter: ["linux/amd64", "linux/arm64"],
  rabbitmq: ["linux/amd64", "linux/arm64"],
};

/** The platform's own images, built by the program (components/images/MultiArchImage). */
export const ownImages = {
  /**
   * PostgreSQL 16 client tools plus age and curl (>= 7.75, for SigV4-signed off-site copies), for
   * the backup jobs: components/images/postgres-backup/Dockerfile (the server's image plus
   * `apk add age curl`); no public image ships all three. The scripts use only POSIX sh and tools
   * BusyBox also provides (sha256sum -c, awk, cmp).
   */
  postgresBackup: {
    /** Repository name under the stack's registry. */
    name: "postgres-backup",
    /** Build context (the Dockerfile is in it), relative to the project root. */
    context: "components/images/postgres-backup",
    /** Tag naming what the image carries (PostgreSQL 16.6, age 1.2.1), pushed besides SHA and release. */
    contentTag: "16.6-age1.2.1",
    /** The reference used when a stack builds nothing (no `images` config). */
    prebuilt: "ghcr.io/auditflow/postgres-backup:16.6-age1.2.1",
  },
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

/**
 * Ingress. Traefik is not installed by the program: K3s bundles it (as a HelmChart in kube-system)
 * and the program only configures it through a HelmChartConfig. cert-manager is installed the K3s
 * way, through a HelmChart object that K3s' Helm controller applies.
 */
export const ingress = {
  /**
   * The Traefik Go module the conformance harness (tools/traefik-harness) builds its middlewares
   * and routers from. v3.7.x cannot be built here (it needs a fork version the Go module proxy does
   * not serve); K3s v1.34 releases up to v1.34.8 bundle Traefik v3.6.x (K3s' release notes), v1.34.9
   * and later v3.7.x, so pin K3s to a v3.6-bundling release to test the same minor that runs.
   */
  traefikLibrary: "v3.6.12",
  /** cert-manager chart (and app) version; the harness builds cert-manager's ACME code at the same version. */
  certManager: "v1.19.4",
  certManagerRepo: "https://charts.jetstack.io",
  /** Let's Encrypt's test ACME server, for the certificate issuance and renewal tests. */
  pebble: "v2.10.1",
} as const;

/**
 * The monitoring stack's images (all multi-arch: linux/amd64 and linux/arm64). Prometheus 3.5 is
 * the long-term-support release; the rule and dashboard expressions are parsed with its own
 * parser module (tools/promql-check, same version) in the conformance tier.
 */
export const monitoringImages = {
  prometheus: "quay.io/prometheus/prometheus:v3.5.0",
  alertmanager: "quay.io/prometheus/alertmanager:v0.28.1",
  nodeExporter: "quay.io/prometheus/node-exporter:v1.9.1",
  kubeStateMetrics: "registry.k8s.io/kube-state-metrics/kube-state-metrics:v2.16.0",
  grafana: "docker.io/grafana/grafana:12.1.1",
  loki: "docker.io/grafana/loki:3.5.3",
  fluentBit: "docker.io/fluent/fluent-bit:4.0.7",
} as const;
