/**
 * The AuditFlow platform program: wires the components for the selected stack.
 * Config is read and validated once (./config); components never read config themselves.
 */
import * as docker from "@pulumi/docker";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { AuditFlowService, METRICS } from "../components/apps/auditflow-service";
import { catalog } from "../components/apps/catalog";
import { K3sCluster } from "../components/cluster/k3s-cluster";
import { PlatformNamespace } from "../components/security/namespace";
import {
  auditflowImages,
  k3s,
  ownImages,
  platformImagePlatforms,
  platformImages,
} from "../components/versions";
import { MultiArchImage } from "../components/images/multi-arch-image";
import { PulledImage } from "../components/images/pulled-image";
import { platformsOf, registryOf } from "../components/images/platforms";
import { imageTags } from "./build-identity";
import { backupBuild, BuildSpec } from "./images-config";
import { loadConfig, StackConfig } from "./config";
import { SERVICE_NAMES, ServiceName } from "./schema";
import { Connection } from "../components/contracts";
import { Migration } from "../components/data/migration";
import { PgBouncer } from "../components/data/pgbouncer";
import { Postgres } from "../components/data/postgres";
import { PostgresBackup } from "../components/data/postgres-backup";
import { databaseName } from "../components/data/postgres-config";
import { Redis } from "../components/data/redis";
import { RabbitMQ } from "../components/messaging/rabbitmq";
import { amqpQueues, amqpRoles } from "../components/apps/catalog";
import { CERT_MANAGER_METRICS_PORT, CertManager } from "../components/ingress/cert-manager";
import { CertificateIssuers } from "../components/ingress/certificate-issuers";
import { PublicEndpoint, Site } from "../components/ingress/public-endpoint";
import { TRAEFIK_METRICS_PORT, TraefikConfig } from "../components/ingress/traefik-config";
import { bytes } from "../components/lib/quantity";
import { DEAD_LETTER_QUEUE } from "../components/messaging/rabbitmq-config";
import { cronMaxGapHours } from "../components/lib/cron";
import { Monitoring, monitoringSizes } from "../components/monitoring/monitoring";
import { MONITORING_CONTAINER_DEFAULTS, monitoringQuotas } from "../components/monitoring/quota";

const config = loadConfig();

/** etcd snapshots, copied off-site to the backups' S3-compatible store when asked. */
function etcdSnapshots(c: StackConfig) {
  const snap = c.cluster.etcdSnapshots;
  if (!snap) return {};
  const store = snap.offsite ? c.data.backups.offsite : undefined;
  return {
    etcdSnapshots: {
      schedule: snap.schedule,
      retention: snap.retention,
      s3: store && {
        endpoint: store.endpoint,
        bucket: store.bucket,
        folder: [store.prefix, "etcd"].filter(Boolean).join("/"),
        region: store.region,
        accessKeyId: store.accessKeyId,
        caBundle: store.caBundle,
      },
    },
    etcdS3SecretKey: store ? c.backupOffsiteSecretKey : undefined,
  };
}

/** The Kubernetes provider for the stack's provisioning mode. */
function clusterProvider(c: StackConfig): {
  provider: k8s.Provider;
  kubeconfig?: pulumi.Output<string>;
} {
  const cluster = c.cluster;
  switch (cluster.provisioning) {
    case "ssh": {
      const k3sCluster = new K3sCluster("k3s", {
        nodes: cluster.nodes,
        k3sVersion: cluster.k3sVersion ?? k3s.version,
        sshUser: cluster.sshUser!,
        sshPrivateKey: c.sshPrivateKey!,
        sshPort: cluster.sshPort,
        apiAddress: cluster.apiAddress,
        adminCidrs: cluster.adminCidrs ?? [],
        installerSha256: cluster.installScriptSha256,
        vip: cluster.vip,
        airgap: cluster.airgap && {
          installer: cluster.airgap.installScript,
          arm64: airgapFiles(cluster.airgap.arm64),
          amd64: airgapFiles(cluster.airgap.amd64),
        },
        containerLogs: cluster.containerLogs,
        journal: cluster.journal,
        drainTimeoutSeconds: cluster.drainTimeoutSeconds,
        ...etcdSnapshots(c),
      });
      return { provider: k3sCluster.provider, kubeconfig: k3sCluster.kubeconfig };
    }
    case "kubeconfig":
      return {
        provider: new k8s.Provider("cluster", {
          context: cluster.kubeconfigContext,
          enableServerSideApply: true,
        }),
      };
    case "render":
      return {
        provider: new k8s.Provider("render", { renderYamlToDirectory: cluster.renderDir! }),
      };
  }
}

const { provider, kubeconfig: kubeconfigOutput } = clusterProvider(config);
const opts = { provider };

// ---- Images ----------------------------------------------------------------------------------
// Every image runs on every node: built images hold exactly the nodes' platforms, and the pinned
// third-party images are checked against their registries' manifest lists.
const nodePlatforms = platformsOf(config.cluster.nodes.map((n) => n.arch));
const imagesConfig = config.images;
for (const [key, ref] of Object.entries(platformImages)) {
  new PulledImage(`pulled-${key}`, {
    image: ref,
    declaredPlatforms: platformImagePlatforms[key as keyof typeof platformImages],
    check: imagesConfig?.checkPulledImages ?? true,
  });
}
const backupImageBuild = backupBuild(imagesConfig);
const anyBuild = backupImageBuild !== undefined || config.services.some((s) => s.build);
/** One BuildKit builder (docker-container driver) cross-builds every platform on the CI runner. */
const builder =
  imagesConfig && anyBuild
    ? new docker.BuildxBuilder("image-builder", {
        name: `auditflow-${config.stack}`,
        driver: "docker-container",
        platforms: nodePlatforms,
        bootstrap: true,
      })
    : undefined;
/** Builds one of the platform's images and returns its digest reference. */
function buildImage(name: string, build: BuildSpec, extraTags: string[] = []): MultiArchImage {
  const images = imagesConfig!;
  const repository = `${images.registry}/${name}`;
  return new MultiArchImage(`${name}-image`, {
    repository,
    context: build.context,
    dockerfile: build.dockerfile,
    buildArgs: build.args,
    target: build.target,
    platforms: nodePlatforms,
    tags: [...imageTags(config.build!), ...extraTags],
    push: images.push,
    registry: images.push
      ? {
          address: registryOf(repository),
          username: images.username!,
          password: config.registryPassword!,
        }
      : undefined,
    cache: images.cache,
    builder: builder?.name,
  });
}
const builtImages: Record<string, MultiArchImage> = {};
if (backupImageBuild) {
  builtImages[ownImages.postgresBackup.name] = buildImage(
    ownImages.postgresBackup.name,
    backupImageBuild,
    [ownImages.postgresBackup.contentTag],
  );
}
for (const spec of config.services) {
  if (spec.build) builtImages[spec.name] = buildImage(spec.name, spec.build);
}

const appsNs = new PlatformNamespace(
  "apps",
  { namespaceName: "auditflow", component: "apps", ...config.namespaces.apps },
  opts,
);
const dataNs = new PlatformNamespace(
  "data",
  {
    namespaceName: "auditflow-data",
    component: "data",
    ...config.namespaces.data,
    // A RabbitMQ cluster finds its peers through the Kubernetes API.
    allowApiServerEgress: config.data.rabbitmq.replicas > 1,
  },
  opts,
);

// ---- Data and messaging -------------------------------------------------------------------
const data = config.data;
const usersOf = (kind: "postgres" | "redis" | "amqp") =>
  SERVICE_NAMES.filter((s) => catalog[s].uses.includes(kind));
/** The pods of a service, created later, for the data services' NetworkPolicies. */
const servicePeer = (s: ServiceName) => AuditFlowService.peer(s, appsNs.name);
const migrated = SERVICE_NAMES.filter(
  (s) => catalog[s].migrationCommand && catalog[s].uses.includes("postgres"),
);

// PgBouncer and the backup jobs are created after PostgreSQL (they need its address), so its
// NetworkPolicy names them by the selectors their classes offer for these names.
const PGBOUNCER = "pgbouncer";
const BACKUP = "postgres-backup";
const postgres = new Postgres(
  "postgres",
  {
    namespace: dataNs.name,
    services: usersOf("postgres"),
    storage: data.postgres.storage,
    storageClass: config.cluster.storageClass,
    maxConnections: data.postgres.maxConnections,
    resources: data.postgres.resources,
    clients: [PgBouncer.peer(PGBOUNCER), PostgresBackup.peer(BACKUP)],
  },
  opts,
);
/** The image a service runs: its build's digest reference, else the stack's image, else the default. */
const imageOf = (s: ServiceName) =>
  builtImages[s]?.ref ?? config.services.find((x) => x.name === s)?.image ?? auditflowImages[s];
const backups = new PostgresBackup(
  BACKUP,
  {
    namespace: dataNs.name,
    image:
      builtImages[ownImages.postgresBackup.name]?.ref ??
      imagesConfig?.postgresBackup?.image ??
      ownImages.postgresBackup.prebuilt,
    postgres: {
      host: postgres.host,
      port: postgres.port,
      peer: postgres.peer,
      secretName: postgres.secretName,
      server: postgres.workload.workload,
    },
    databases: usersOf("postgres").map(databaseName),
    schedule: data.backups.schedule,
    verifySchedule: data.backups.verifySchedule,
    keep: data.backups.keep,
    storage: data.backups.storage,
    storageClass: config.cluster.storageClass,
    recipients: data.backups.recipients,
    verifyIdentity: config.backupVerifyIdentity,
    offsite: data.backups.offsite && {
      ...data.backups.offsite,
      // One prefix per stack, so stacks can share a bucket without mixing their backups.
      prefix: data.backups.offsite.prefix ?? `auditflow/${config.stack}`,
      secretAccessKey: config.backupOffsiteSecretKey!,
    },
    // A fresh backup of each migrated service's database for every new image, before its migration.
    preMigration: migrated.map((s) => ({
      service: s,
      database: databaseName(s),
      rollout: imageOf(s),
    })),
  },
  opts,
);
const pgbouncer = new PgBouncer(
  PGBOUNCER,
  {
    namespace: dataNs.name,
    postgres: { host: postgres.host, port: postgres.port, peer: postgres.peer },
    passwords: postgres.passwords,
    clientNamespace: appsNs.name,
    clients: [
      ...usersOf("postgres").map(servicePeer),
      ...migrated.map((s) => Migration.peer(s, appsNs.name)),
    ],
    replicas: data.pgbouncer.replicas,
    defaultPoolSize: data.pgbouncer.defaultPoolSize,
    maxClientConn: data.pgbouncer.maxClientConn,
    resources: data.pgbouncer.resources,
  },
  opts,
);
const redis = new Redis(
  "redis",
  {
    namespace: dataNs.name,
    maxMemory: data.redis.maxMemory,
    maxMemoryPolicy: data.redis.maxMemoryPolicy,
    persistence: data.redis.persistence,
    storage: data.redis.storage,
    storageClass: config.cluster.storageClass,
    resources: data.redis.resources,
    // One logical database per service, in pipeline order.
    clients: Object.fromEntries(
      usersOf("redis").map((s, i) => [s, { db: i, peer: servicePeer(s) }]),
    ),
    clientNamespace: appsNs.name,
  },
  opts,
);
const rabbitmq = new RabbitMQ(
  "rabbitmq",
  {
    namespace: dataNs.name,
    replicas: data.rabbitmq.replicas,
    storage: data.rabbitmq.storage,
    storageClass: config.cluster.storageClass,
    memoryHighWatermark: data.rabbitmq.memoryHighWatermark,
    diskFreeLimit: data.rabbitmq.diskFreeLimit,
    resources: data.rabbitmq.resources,
    users: usersOf("amqp").map((s) => ({
      ...amqpRoles[s]!,
      service: s,
      name: s.replace(/-/g, "_"),
      peer: servicePeer(s),
    })),
    queues: amqpQueues,
    clientNamespace: appsNs.name,
  },
  opts,
);
const connectionsFor = (s: ServiceName): Connection[] =>
  catalog[s].uses.map((kind) =>
    kind === "postgres"
      ? pgbouncer.connections[s]!
      : kind === "redis"
        ? redis.connections[s]!
        : rabbitmq.connections[s]!,
  );

// ---- The four services ----------------------------------------------------------------------
// Created in pipeline order, so a service's upstreams (the services whose calledBy names it) exist.
const services: Partial<Record<ServiceName, AuditFlowService>> = {};
for (const service of SERVICE_NAMES) {
  const spec = config.services.find((s) => s.name === service)!;
  const traits = catalog[service];
  const built = builtImages[service];
  // A built image is referenced by its digest, never by a tag.
  const image = imageOf(service);
  const version = built ? config.build!.release : undefined;
  const migration = traits.migrationCommand
    ? new Migration(
        `${service}-migrate`,
        {
          namespace: appsNs.name,
          service,
          image,
          version,
          command: traits.migrationCommand,
          database: pgbouncer.connections[service]!,
          // The migration runs only after this rollout's backup of the database succeeded.
          after: [backups.preMigrationJobs[service]!],
        },
        opts,
      )
    : undefined;
  const upstreams = SERVICE_NAMES.filter((u) => catalog[u].calledBy.includes(service)).map((u) => {
    const up = services[u];
    if (!up)
      throw new Error(`service ${service} calls ${u}, which must come first in SERVICE_NAMES`);
    return {
      service: u,
      url: pulumi.interpolate`http://${up.host}:${up.port}`,
      peer: up.peer,
      port: up.port,
    };
  });
  services[service] = new AuditFlowService(
    service,
    {
      service,
      traits,
      namespace: appsNs.name,
      image,
      version,
      replicas: spec.replicas,
      autoscaling: spec.autoscaling,
      rules: spec.rules,
      resources: spec.resources,
      placement: spec.placement,
      env: spec.env,
      connections: connectionsFor(service),
      callers: traits.calledBy.map(servicePeer),
      upstreams,
      // A new version rolls out only on a migrated schema (the Deployment itself waits).
      after: migration ? [migration.job] : [],
    },
    opts,
  );
}

// ---- Ingress: K3s' Traefik, cert-manager, the public endpoint --------------------------------
const ing = config.ingress;
new TraefikConfig(
  "traefik",
  {
    // With kube-vip, the LoadBalancer address lives on one server at a time: run Traefik on each.
    ...(config.cluster.vip
      ? {
          placement: "servers",
          replicas: config.cluster.nodes.filter((n) => n.role === "server").length,
        }
      : { replicas: ing.traefik.replicas }),
    resources: ing.traefik.resources,
  },
  opts,
);
const certManager = new CertManager("cert-manager", {}, opts);
const issuers = new CertificateIssuers(
  "auditflow",
  {
    namespace: certManager.namespace,
    acme: ing.acme && {
      ...ing.acme,
      dns01Secret: config.acmeDns01Secret,
    },
    dependsOn: [certManager.chart],
  },
  opts,
);
const sites: Site[] = [
  {
    name: "public",
    hosts: [...ing.hosts],
    issuer: ing.issuer === "acme" ? issuers.acme! : issuers.privateCa,
    http01: ing.issuer === "acme" && ing.acme?.solver === "http01",
  },
  ...(ing.internalHosts?.length
    ? [{ name: "internal", hosts: [...ing.internalHosts], issuer: issuers.privateCa }]
    : []),
];
const backend = (s: ServiceName) => ({
  serviceName: services[s]!.workload.serviceName!,
  port: services[s]!.port,
  peer: services[s]!.peer,
});
new PublicEndpoint(
  "auditflow",
  {
    namespace: appsNs.name,
    sites,
    dashboard: backend("event-audit-dashboard"),
    api: backend("audit-log-analysis"),
    livePath: ing.livePath,
    generalRateLimit: ing.rateLimit.general,
    apiRateLimit: ing.rateLimit.api,
    maxRequestBodyBytes: bytes(ing.maxRequestBody),
    certificateDuration: ing.certificates?.duration,
    renewBefore: ing.certificates?.renewBefore,
  },
  { ...opts, dependsOn: [certManager.chart] },
);

// ---- Monitoring -------------------------------------------------------------------------------
// Prometheus, Alertmanager, Grafana, Loki and kube-state-metrics run under Pod Security
// "restricted"; node-exporter and the log agent need host namespaces and host paths, which only
// "privileged" admits (baseline forbids hostPath), so they get a namespace of their own.
const mon = config.monitoring;
const monitoring = mon?.enabled ? createMonitoring(mon) : undefined;

function createMonitoring(m: NonNullable<StackConfig["monitoring"]>) {
  const resources = {
    ...(m.prometheus.resources && { prometheus: m.prometheus.resources }),
    ...(m.alertmanager.resources && { alertmanager: m.alertmanager.resources }),
    ...(m.grafana?.resources && { grafana: m.grafana.resources }),
    ...(m.loki.resources && { loki: m.loki.resources }),
    ...(m.kubeStateMetrics?.resources && { kubeStateMetrics: m.kubeStateMetrics.resources }),
    ...(m.nodeExporter?.resources && { nodeExporter: m.nodeExporter.resources }),
    ...(m.logAgent?.resources && { logAgent: m.logAgent.resources }),
  };
  const alertmanagerStorage = m.alertmanager.storage ?? "256Mi";
  // Quotas sized from the parts' own requests and limits (rolling updates included).
  const quotas = monitoringQuotas(monitoringSizes(resources), {
    nodes: config.cluster.nodes.length,
    storage: [m.prometheus.storage, m.loki.storage, alertmanagerStorage],
  });
  const monNs = new PlatformNamespace(
    "monitoring",
    {
      namespaceName: "monitoring",
      component: "monitoring",
      allowApiServerEgress: true,
      quota: quotas.monitoring,
      containerDefaults: MONITORING_CONTAINER_DEFAULTS,
    },
    opts,
  );
  const nodeNs = new PlatformNamespace(
    "monitoring-node",
    {
      namespaceName: "monitoring-node",
      component: "monitoring",
      podSecurity: "privileged",
      allowApiServerEgress: true,
      quota: quotas.node,
      containerDefaults: MONITORING_CONTAINER_DEFAULTS,
    },
    opts,
  );
  return new Monitoring(
    "monitoring",
    {
      namespace: "monitoring",
      nodeNamespace: "monitoring-node",
      stack: config.stack,
      // Who is scraped where, on which ports (Prometheus' egress admits exactly these). Traefik
      // (K3s' ingress controller) and cert-manager's chart annotate their pods too.
      scrapeTargets: [
        { namespace: "auditflow", ports: [METRICS.port] },
        {
          namespace: "auditflow-data",
          ports: [postgres, pgbouncer, redis, rabbitmq].map((c) => c.metricsPort),
        },
        { namespace: "kube-system", ports: [TRAEFIK_METRICS_PORT] },
        { namespace: certManager.namespaceName, ports: [CERT_MANAGER_METRICS_PORT] },
      ],
      nodeAddresses: config.cluster.nodes.map((n) => n.address),
      storageClass: config.cluster.storageClass,
      scrapeInterval: m.scrapeInterval,
      prometheus: m.prometheus,
      loki: m.loki,
      alertmanager: {
        storage: alertmanagerStorage,
        receivers: m.alertmanager.receivers.map((r) => ({ ...r, severities: [...r.severities] })),
        smtp: m.alertmanager.smtp,
        smtpPassword: config.alertmanagerSmtpPassword,
        slackApiUrl: config.alertmanagerSlackApiUrl,
      },
      resources,
      rules: {
        appsNamespace: "auditflow",
        deadLetterQueue: DEAD_LETTER_QUEUE,
        // The verification is stale once a whole schedule period plus 2 hours passed without one.
        backupVerifyMaxAgeHours: Math.ceil(cronMaxGapHours(config.data.backups.verifySchedule)) + 2,
        slo: m.slo ?? { availability: 0.995, latency: 0.99, latencyThresholdSeconds: 0.5 },
        // The ingress component owns its certificate alerts; they are loaded here as they are.
        extraGroups: [certManager.alertRules],
      },
      dashboards: { apps: "auditflow", data: "auditflow-data", deadLetterQueue: DEAD_LETTER_QUEUE },
    },
    { ...opts, dependsOn: [monNs, nodeNs] },
  );
}

export const namespaces = { apps: appsNs.name, data: dataNs.name };
/** Where Prometheus and Loki answer in the cluster (null when monitoring is off). */
export const observability = monitoring
  ? {
      prometheus: monitoring.prometheusUrl,
      loki: monitoring.lokiUrl,
      grafanaAdminSecret: monitoring.grafanaAdminSecret,
    }
  : null;
export const dataEndpoints = {
  postgres: pulumi.interpolate`${postgres.host}:${postgres.port}`,
  pgbouncer: pulumi.interpolate`${pgbouncer.host}:${pgbouncer.port}`,
  redis: pulumi.interpolate`${redis.host}:${redis.port}`,
  rabbitmq: pulumi.interpolate`${rabbitmq.host}:${rabbitmq.port}`,
};
export const serviceEndpoints = Object.fromEntries(
  Object.entries(services).map(([n, s]) => [n, pulumi.interpolate`http://${s.host}:${s.port}`]),
);
/** The platform's public URLs. */
export const publicUrls = [...ing.hosts, ...(ing.internalHosts ?? [])].map((h) => `https://${h}/`);
/**
 * The image each service runs, and its digest (null when the reference has only a tag). Every
 * update records these in the stack's history, where `npm run rollback` finds the previous image.
 */
export const serviceImages = Object.fromEntries(
  Object.entries(services).map(([n, s]) => [n, { image: s.image, digest: s.digest }]),
);
export const cluster = {
  provisioning: config.cluster.provisioning,
  nodes: config.cluster.nodes.map((n) => `${n.name} (${n.role}, ${n.arch})`),
};
/** The digest reference (`repo@sha256:...`) of every image the program built, by name. */
export const images = Object.fromEntries(Object.entries(builtImages).map(([n, i]) => [n, i.ref]));
/** Kubeconfig (secret) when the program installed K3s itself; null when the cluster is given. */
export const kubeconfig = kubeconfigOutput ?? null;

/** One architecture's air-gapped files, from the config's names to the component's. */
function airgapFiles(
  f:
    | { k3sBinary: string; k3sBinarySha256: string; images: string; imagesSha256: string }
    | undefined,
) {
  return (
    f && {
      binary: f.k3sBinary,
      binarySha256: f.k3sBinarySha256,
      images: f.images,
      imagesSha256: f.imagesSha256,
    }
  );
}
