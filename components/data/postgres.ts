import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { ContainerSpec, Peer, Workload, WorkloadArgs } from "../apps/workload";
import { type ObjectMeta, recommendedLabels } from "../lib/labels";
import type { ResourceSizes } from "../security/namespace";
import { platformImages } from "../versions";
import {
  databaseName,
  exporterQueries,
  initScript,
  MONITORING_ROLE,
  passwordEnv,
  pgHbaConf,
  pgIdentConf,
  postgresqlConf,
} from "./postgres-config";

/** postgres-exporter's metrics port (container port, scrape annotation, NetworkPolicy). */
const METRICS_PORT = 9187;

const MONITOR_PASSWORD_ENV = "MONITOR_PASSWORD";
/** UID/GID of the postgres user in the official Alpine image. */
const POSTGRES_UID = 70;
/** Where the exporter reads its custom queries (the ConfigMap's exporter-queries.yaml). */
const EXPORTER_QUERIES_DIR = "/etc/postgres-exporter";

export interface PostgresArgs {
  /** Namespace of the server. Required. */
  namespace: pulumi.Input<string>;
  /** Services that get one role and one database each. Required (at least one). */
  services: readonly string[];
  /** Volume size, e.g. "5Gi". Required. */
  storage: string;
  /** Storage class of the volume. Defaults to the cluster default (K3s: local-path). */
  storageClass?: string;
  /** max_connections. Required. */
  maxConnections: number;
  /** Server container requests and limits; postgresql.conf is sized from the memory limit. Required. */
  resources: ResourceSizes;
  /** Who may connect on 5432 besides the metrics scraper (PgBouncer, backup jobs). Defaults to nobody. */
  clients?: Peer[];
  /** Namespace whose pods may scrape the exporter. Defaults to "monitoring". */
  metricsNamespace?: string;
  /** Server image. Defaults to components/versions.ts. */
  image?: string;
}

/**
 * PostgreSQL as a single-replica StatefulSet on a persistent volume: configuration derived from the
 * memory limit, one role and database per service (passwords generated and kept in a Secret),
 * pg_isready probes, a postgres-exporter sidecar logging in with a pg_monitor role (its custom
 * queries add the backup verification metrics, see exporterQueries), and a NetworkPolicy that
 * admits only the declared clients and the metrics scraper.
 */
export class Postgres extends pulumi.ComponentResource {
  /** In-cluster DNS name of the server. */
  public readonly host: pulumi.Output<string>;
  public readonly port = 5432;
  /** The exporter's metrics port (Prometheus' egress admits it). */
  public readonly metricsPort = METRICS_PORT;
  /** Secret holding every password (keys POSTGRES_PASSWORD, <SERVICE>_PASSWORD, MONITOR_PASSWORD). */
  public readonly secretName: pulumi.Output<string>;
  /** Each service's generated password (secret). */
  public readonly passwords: Readonly<Record<string, pulumi.Output<string>>>;
  /** Pods of the server, for clients' egress rules. */
  public readonly peer: Peer;
  public readonly workload: Workload;

  constructor(name: string, args: PostgresArgs, opts?: pulumi.ComponentResourceOptions) {
    super("auditflow:data:Postgres", name, {}, opts);
    if (args.services.length === 0) {
      throw new Error(
        `Postgres ${name}: services must list at least one service that owns a database`,
      );
    }
    // Throws with the argument named before anything is created.
    const conf = postgresqlConf({
      memoryLimit: args.resources.limits.memory,
      maxConnections: args.maxConnections,
    });
    const dbs: Database[] = args.services.map((service) => ({
      service,
      name: databaseName(service),
      passwordEnv: passwordEnv(service),
    }));
    const init = initScript(dbs, { role: MONITORING_ROLE, passwordEnv: MONITOR_PASSWORD_ENV });
    const identity = { name, component: "database" };
    const meta = { namespace: args.namespace, labels: recommendedLabels(identity) };

    const { secret, passwords } = this.credentials(name, meta, dbs);
    this.passwords = passwords;
    this.secretName = secret.metadata.name;
    const config = this.configMap(name, meta, conf, init);
    const fromSecret: FromSecret = (envName, key = envName) => ({
      name: envName,
      valueFrom: { secretKeyRef: { name: secret.metadata.name, key } },
    });
    this.workload = new Workload(
      name,
      serverWorkload(identity, args, dbs, fromSecret, config.metadata.name),
      { parent: this },
    );
    this.host = this.workload.host!;
    this.peer = this.workload.peer;
    this.registerOutputs({ host: this.host, secretName: this.secretName });
  }

  /** Generated passwords (the superuser, the monitoring role, one per service) in one Secret. */
  private credentials(
    name: string,
    meta: ObjectMeta,
    dbs: Database[],
  ): { secret: k8s.core.v1.Secret; passwords: Record<string, pulumi.Output<string>> } {
    const password = (suffix: string) =>
      new random.RandomPassword(
        `${name}-${suffix}`,
        { length: 32, special: false },
        { parent: this },
      ).result;
    const superuser = password("superuser");
    const monitor = password("monitor");
    const passwords: Record<string, pulumi.Output<string>> = {};
    for (const d of dbs) passwords[d.service] = pulumi.secret(password(d.name.replace(/_/g, "-")));
    const secret = new k8s.core.v1.Secret(
      `${name}-credentials`,
      {
        metadata: meta,
        type: "Opaque",
        stringData: pulumi.secret(
          pulumi.all([superuser, monitor, pulumi.all(passwords)]).apply(([su, mon, svc]) => ({
            POSTGRES_PASSWORD: su,
            [MONITOR_PASSWORD_ENV]: mon,
            ...Object.fromEntries(dbs.map((d) => [d.passwordEnv, svc[d.service]!])),
          })),
        ),
      },
      { parent: this },
    );
    return { secret, passwords };
  }

  /** postgresql.conf, pg_hba.conf, pg_ident.conf, the init script and the exporter's queries. */
  private configMap(
    name: string,
    meta: ObjectMeta,
    conf: string,
    init: string,
  ): k8s.core.v1.ConfigMap {
    return new k8s.core.v1.ConfigMap(
      `${name}-config`,
      {
        metadata: meta,
        data: {
          "postgresql.conf": conf,
          "pg_hba.conf": pgHbaConf({ monitoringRole: MONITORING_ROLE }),
          "pg_ident.conf": pgIdentConf(),
          "10-auditflow-databases.sh": init,
          "exporter-queries.yaml": exporterQueries(),
        },
      },
      { parent: this },
    );
  }
}

/** A service's database: its name and the variable its role's password is passed in. */
interface Database {
  service: string;
  name: string;
  passwordEnv: string;
}

/** An environment variable taken from the credentials Secret (`key` defaults to the variable). */
type FromSecret = (envName: string, key?: string) => k8s.types.input.core.v1.EnvVar;

/** The StatefulSet: the server and the exporter, the config volumes, who may connect. */
function serverWorkload(
  identity: { name: string; component: string },
  args: PostgresArgs,
  dbs: Database[],
  fromSecret: FromSecret,
  configName: pulumi.Input<string>,
): WorkloadArgs {
  const metricsPeers: Peer[] = [{ namespace: args.metricsNamespace ?? "monitoring" }];
  return {
    namespace: args.namespace,
    identity,
    kind: "StatefulSet",
    replicas: 1,
    podSecurity: { runAsUser: POSTGRES_UID, runAsGroup: POSTGRES_UID, fsGroup: POSTGRES_UID },
    persistentVolume: {
      name: "data",
      mountPath: "/var/lib/postgresql/data",
      size: args.storage,
      storageClass: args.storageClass,
    },
    terminationGracePeriodSeconds: 60,
    containers: [serverContainer(args, dbs, fromSecret), exporterContainer(fromSecret)],
    volumes: configVolumes(configName),
    podAnnotations: { "prometheus.io/scrape": "true", "prometheus.io/port": String(METRICS_PORT) },
    ingress: [
      ...(args.clients?.length ? [{ from: args.clients, ports: [5432] }] : []),
      { from: metricsPeers, ports: [METRICS_PORT] },
    ],
  };
}

/** PostgreSQL with the mounted configuration, every password from the Secret, pg_isready probes. */
function serverContainer(
  args: PostgresArgs,
  dbs: Database[],
  fromSecret: FromSecret,
): ContainerSpec {
  return {
    name: "postgres",
    image: args.image ?? platformImages.postgres,
    args: [
      "-c",
      "config_file=/etc/postgresql/postgresql.conf",
      "-c",
      "hba_file=/etc/postgresql/pg_hba.conf",
      "-c",
      "ident_file=/etc/postgresql/pg_ident.conf",
    ],
    ports: [{ name: "postgres", containerPort: 5432 }],
    env: [
      { name: "PGDATA", value: "/var/lib/postgresql/data/pgdata" },
      fromSecret("POSTGRES_PASSWORD"),
      fromSecret(MONITOR_PASSWORD_ENV),
      ...dbs.map((d) => fromSecret(d.passwordEnv)),
    ],
    resources: args.resources,
    // Initialising an empty volume takes a while on a Pi; liveness waits for this.
    startupProbe: {
      exec: { command: ["pg_isready", "-h", "127.0.0.1", "-p", "5432"] },
      periodSeconds: 5,
      failureThreshold: 60,
    },
    livenessProbe: {
      exec: { command: ["pg_isready", "-h", "/var/run/postgresql"] },
      periodSeconds: 15,
      timeoutSeconds: 5,
      failureThreshold: 4,
    },
    readinessProbe: {
      exec: { command: ["pg_isready", "-h", "127.0.0.1", "-p", "5432", "-d", "postgres"] },
      periodSeconds: 5,
      timeoutSeconds: 3,
    },
    writablePaths: [
      { name: "run", mountPath: "/var/run/postgresql", sizeLimit: "16Mi" },
      { name: "tmp", mountPath: "/tmp", sizeLimit: "256Mi" },
    ],
    volumeMounts: [
      { name: "config", mountPath: "/etc/postgresql", readOnly: true },
      { name: "initdb", mountPath: "/docker-entrypoint-initdb.d", readOnly: true },
    ],
  };
}

/** postgres-exporter logging in with the monitoring role, with the custom backup queries. */
function exporterContainer(fromSecret: FromSecret): ContainerSpec {
  return {
    name: "exporter",
    image: platformImages.postgresExporter,
    // Deprecated upstream since v0.13 in favour of built-in collectors, but still supported
    // (v0.16.0 pinned; it logs a deprecation warning at start): no built-in collector can
    // publish an application's own table.
    args: [`--extend.query-path=${EXPORTER_QUERIES_DIR}/queries.yaml`],
    ports: [{ name: "metrics", containerPort: METRICS_PORT }],
    env: [
      { name: "DATA_SOURCE_URI", value: "127.0.0.1:5432/postgres?sslmode=disable" },
      { name: "DATA_SOURCE_USER", value: MONITORING_ROLE },
      fromSecret("DATA_SOURCE_PASS", MONITOR_PASSWORD_ENV),
    ],
    resources: {
      requests: { cpu: "10m", memory: "32Mi" },
      limits: { cpu: "100m", memory: "48Mi" },
    },
    livenessProbe: { tcpSocket: { port: "metrics" }, periodSeconds: 20 },
    readinessProbe: {
      httpGet: { path: "/metrics", port: "metrics" },
      periodSeconds: 15,
      timeoutSeconds: 5,
    },
    volumeMounts: [{ name: "exporter-queries", mountPath: EXPORTER_QUERIES_DIR, readOnly: true }],
  };
}

/** The one ConfigMap as three volumes: server config, init scripts (executable), exporter queries. */
function configVolumes(configName: pulumi.Input<string>): k8s.types.input.core.v1.Volume[] {
  return [
    {
      name: "config",
      configMap: {
        name: configName,
        items: ["postgresql.conf", "pg_hba.conf", "pg_ident.conf"].map((k) => ({
          key: k,
          path: k,
        })),
      },
    },
    {
      name: "initdb",
      configMap: {
        name: configName,
        items: [{ key: "10-auditflow-databases.sh", path: "10-auditflow-databases.sh" }],
        defaultMode: 0o555,
      },
    },
    {
      name: "exporter-queries",
      configMap: {
        name: configName,
        items: [{ key: "exporter-queries.yaml", path: "queries.yaml" }],
      },
    },
  ];
}
