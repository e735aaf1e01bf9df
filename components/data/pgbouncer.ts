import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { PostgresConnection, connectionSecret } from "../contracts";
import { Peer, Workload } from "../apps/workload";
import { recommendedLabels, selectorLabels } from "../lib/labels";
import type { ResourceSizes } from "../security/namespace";
import { platformImages } from "../versions";
import { PGBOUNCER_STATS_USER, pgbouncerIni, userlist } from "./pgbouncer-config";
import { databaseName } from "./postgres-config";

const PORT = 6432;
const METRICS_PORT = 9127;
const AUTH_FILE = "/etc/pgbouncer-auth/userlist.txt";
/** Key of the auth Secret holding the exporter's connection string (never mounted as a file). */
const EXPORTER_DSN_KEY = "exporter-dsn";

export interface PgBouncerArgs {
  /** Namespace of PgBouncer (the data namespace). Required. */
  namespace: pulumi.Input<string>;
  /** PostgreSQL host and port to pool connections to. Required. */
  postgres: { host: pulumi.Input<string>; port: number; peer: Peer };
  /** Each service's generated database password (secret Outputs), keyed by service. Required. */
  passwords: Readonly<Record<string, pulumi.Output<string>>>;
  /** Namespace of the services; their connection Secrets are created there. Required. */
  clientNamespace: pulumi.Input<string>;
  /** Pods allowed to connect (the services and their migration Jobs). Required. */
  clients: Peer[];
  /** Pods. Defaults to 1. */
  replicas?: number;
  /** Server connections per database. Required. */
  defaultPoolSize: number;
  /** Client connections accepted in total. Required. */
  maxClientConn: number;
  /** Requests and limits. Required. */
  resources: ResourceSizes;
  /** Image. Defaults to components/versions.ts. */
  image?: string;
  /** Namespace whose pods may scrape the exporter. Defaults to "monitoring". */
  metricsNamespace?: string;
}

/**
 * PgBouncer in transaction pooling mode in front of PostgreSQL. Services connect here, never to
 * the server; each gets a connection contract backed by a Secret in its own namespace holding its
 * password and a ready DATABASE_URL. A pgbouncer_exporter sidecar logs in to the admin console as
 * the stats-only user (generated password) and publishes the pools on :9127 for Prometheus.
 */
export class PgBouncer extends pulumi.ComponentResource {
  public readonly host: pulumi.Output<string>;
  public readonly port = PORT;
  /** The exporter's metrics port (Prometheus' egress admits it). */
  public readonly metricsPort = METRICS_PORT;
  /** Connection contract per service. */
  public readonly connections: Readonly<Record<string, PostgresConnection>>;
  public readonly peer: Peer;

  /** The pods of the PgBouncer named `name`, in the caller's namespace (PostgreSQL's). */
  static peer(name: string): Peer {
    return { podLabels: selectorLabels({ name }) };
  }

  constructor(name: string, args: PgBouncerArgs, opts?: pulumi.ComponentResourceOptions) {
    super("auditflow:data:PgBouncer", name, {}, opts);
    const services = Object.keys(args.passwords);
    if (services.length === 0)
      throw new Error(`PgBouncer ${name}: passwords must name at least one service`);
    const identity = { name, component: "connection-pool" };
    const labels = recommendedLabels(identity);

    const ini = pulumi.output(args.postgres.host).apply((host) =>
      pgbouncerIni({
        postgresHost: host,
        postgresPort: args.postgres.port,
        listenPort: PORT,
        databases: services.map(databaseName),
        defaultPoolSize: args.defaultPoolSize,
        reservePoolSize: Math.max(1, Math.ceil(args.defaultPoolSize / 4)),
        maxClientConn: args.maxClientConn,
        authFile: AUTH_FILE,
        statsUser: PGBOUNCER_STATS_USER,
      }),
    );
    const statsPassword = new random.RandomPassword(
      `${name}-stats`,
      { length: 32, special: false },
      { parent: this },
    ).result;
    const config = new k8s.core.v1.ConfigMap(
      `${name}-config`,
      { metadata: { namespace: args.namespace, labels }, data: { "pgbouncer.ini": ini } },
      { parent: this },
    );
    const auth = new k8s.core.v1.Secret(
      `${name}-auth`,
      {
        metadata: { namespace: args.namespace, labels },
        type: "Opaque",
        stringData: pulumi.secret(
          pulumi.all([args.passwords, statsPassword]).apply(([pw, stats]) => ({
            "userlist.txt": userlist([
              ...services.map((s) => ({ name: databaseName(s), password: pw[s]! })),
              { name: PGBOUNCER_STATS_USER, password: stats },
            ]),
            // The exporter reaches PgBouncer inside the pod; `pgbouncer` is the admin database.
            [EXPORTER_DSN_KEY]: `postgres://${PGBOUNCER_STATS_USER}:${stats}@127.0.0.1:${PORT}/pgbouncer?sslmode=disable`,
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
        replicas: args.replicas ?? 1,
        containers: [
          {
            name: "pgbouncer",
            image: args.image ?? platformImages.pgbouncer,
            command: ["pgbouncer", "/etc/pgbouncer/pgbouncer.ini"],
            ports: [{ name: "postgres", containerPort: PORT }],
            resources: args.resources,
            livenessProbe: {
              tcpSocket: { port: "postgres" },
              periodSeconds: 20,
              failureThreshold: 3,
            },
            readinessProbe: {
              tcpSocket: { port: "postgres" },
              periodSeconds: 5,
              failureThreshold: 2,
            },
            volumeMounts: [
              { name: "config", mountPath: "/etc/pgbouncer", readOnly: true },
              { name: "auth", mountPath: "/etc/pgbouncer-auth", readOnly: true },
            ],
          },
          {
            name: "exporter",
            image: platformImages.pgbouncerExporter,
            args: [`--web.listen-address=:${METRICS_PORT}`],
            ports: [{ name: "metrics", containerPort: METRICS_PORT }],
            env: [
              {
                name: "PGBOUNCER_EXPORTER_CONNECTION_STRING",
                valueFrom: { secretKeyRef: { name: auth.metadata.name, key: EXPORTER_DSN_KEY } },
              },
            ],
            resources: {
              requests: { cpu: "10m", memory: "16Mi" },
              limits: { cpu: "100m", memory: "32Mi" },
            },
            livenessProbe: { tcpSocket: { port: "metrics" }, periodSeconds: 20 },
            readinessProbe: { tcpSocket: { port: "metrics" }, periodSeconds: 15 },
          },
        ],
        volumes: [
          { name: "config", configMap: { name: config.metadata.name } },
          {
            name: "auth",
            secret: {
              secretName: auth.metadata.name,
              defaultMode: 0o440,
              items: [{ key: "userlist.txt", path: "userlist.txt" }],
            },
          },
        ],
        podAnnotations: {
          "prometheus.io/scrape": "true",
          "prometheus.io/port": String(METRICS_PORT),
        },
        ingress: [
          { from: args.clients, ports: [PORT] },
          { from: [{ namespace: args.metricsNamespace ?? "monitoring" }], ports: [METRICS_PORT] },
        ],
        egress: [{ to: [args.postgres.peer], ports: [args.postgres.port] }],
      },
      { parent: this },
    );
    this.host = workload.host!;
    this.peer = workload.peer;

    const connections: Record<string, PostgresConnection> = {};
    for (const service of services) {
      const db = databaseName(service);
      const refs = connectionSecret(
        `${name}-${service}`,
        {
          namespace: args.clientNamespace,
          service,
          password: args.passwords[service]!,
          host: this.host,
          url: (pw, host) =>
            // Transaction pooling: no server-side prepared statements or session state.
            `postgresql://${db}:${encodeURIComponent(pw)}@${host}:${PORT}/${db}?sslmode=disable`,
        },
        this,
      );
      connections[service] = {
        kind: "postgres",
        host: this.host,
        port: PORT,
        database: db,
        username: db,
        password: refs.password,
        url: refs.url,
        peer: this.peer,
      };
    }
    this.connections = connections;
    this.registerOutputs({ host: this.host });
  }
}
