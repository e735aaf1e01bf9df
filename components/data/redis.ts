import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { RedisConnection, connectionSecret } from "../contracts";
import { ContainerSpec, Peer, Workload, WorkloadArgs } from "../apps/workload";
import { recommendedLabels } from "../lib/labels";
import type { ResourceSizes } from "../security/namespace";
import { platformImages } from "../versions";
import {
  EvictionPolicy,
  REDIS_MAXMEMORY_SHARE,
  redisAuthConf,
  redisConf,
  redisMaxMemoryFits,
} from "./redis-config";

/** redis_exporter's metrics port (container port, scrape annotation, NetworkPolicy). */
const METRICS_PORT = 9121;

const PORT = 6379;
/** UID/GID of the redis user in the official Alpine image. */
const REDIS_UID = 999;
/** Where Redis keeps its data: the volume when persistent, a small emptyDir otherwise. */
const DATA_DIR = "/data";

export interface RedisArgs {
  /** Namespace of the server (the data namespace). Required. */
  namespace: pulumi.Input<string>;
  /** maxmemory, e.g. "50mb". Required. */
  maxMemory: string;
  /** Eviction policy. Required. */
  maxMemoryPolicy: EvictionPolicy;
  /** "none", "rdb" or "aof". Required. */
  persistence: "none" | "rdb" | "aof";
  /** Volume size when persistence is on. Required unless persistence is "none". */
  storage?: string;
  /** Storage class. Defaults to the cluster default. */
  storageClass?: string;
  /** Requests and limits. Required. */
  resources: ResourceSizes;
  /** Services that use Redis, each with its logical database; keys are service names. Required. */
  clients: Readonly<Record<string, { db: number; peer: Peer }>>;
  /** Namespace of the services; their connection Secrets are created there. Required. */
  clientNamespace: pulumi.Input<string>;
  /** Namespace whose pods may scrape the exporter. Defaults to "monitoring". */
  metricsNamespace?: string;
}

/**
 * Redis with redis.conf from config (maxmemory, eviction policy, persistence) and the password in a
 * Secret-mounted include, a redis_exporter sidecar, probes, and a NetworkPolicy for its clients.
 */
export class Redis extends pulumi.ComponentResource {
  public readonly host: pulumi.Output<string>;
  public readonly port = PORT;
  /** The exporter's metrics port (Prometheus' egress admits it). */
  public readonly metricsPort = METRICS_PORT;
  public readonly connections: Readonly<Record<string, RedisConnection>>;
  public readonly peer: Peer;

  constructor(name: string, args: RedisArgs, opts?: pulumi.ComponentResourceOptions) {
    super("auditflow:data:Redis", name, {}, opts);
    // Throws with the argument named before anything is created.
    checkRedisArgs(name, args);
    const conf = redisConf({
      maxMemory: args.maxMemory,
      maxMemoryPolicy: args.maxMemoryPolicy,
      persistence: args.persistence,
      port: PORT,
      authInclude: "/etc/redis-auth/auth.conf",
      dir: DATA_DIR,
    });
    const identity = { name, component: "cache" };
    const meta = { namespace: args.namespace, labels: recommendedLabels(identity) };
    const password = pulumi.secret(
      new random.RandomPassword(
        `${name}-password`,
        { length: 32, special: false },
        { parent: this },
      ).result,
    );
    const auth = new k8s.core.v1.Secret(
      `${name}-auth`,
      {
        metadata: meta,
        type: "Opaque",
        stringData: pulumi.secret(
          password.apply((pw) => ({ "auth.conf": redisAuthConf(pw), password: pw })),
        ),
      },
      { parent: this },
    );
    const config = new k8s.core.v1.ConfigMap(
      `${name}-config`,
      { metadata: meta, data: { "redis.conf": conf } },
      { parent: this },
    );
    const workload = new Workload(
      name,
      redisWorkload(identity, args, { config: config.metadata.name, auth: auth.metadata.name }),
      { parent: this },
    );
    this.host = workload.host!;
    this.peer = workload.peer;
    this.connections = this.clientConnections(name, args, password);
    this.registerOutputs({ host: this.host });
  }

  /** Each client's connection contract (its own logical database), password and URL in a Secret. */
  private clientConnections(
    name: string,
    args: RedisArgs,
    password: pulumi.Output<string>,
  ): Record<string, RedisConnection> {
    const connection = (service: string, db: number): RedisConnection => {
      const refs = connectionSecret(
        `${name}-${service}`,
        {
          namespace: args.clientNamespace,
          service,
          password: password,
          host: this.host,
          url: (pw, host) => `redis://:${encodeURIComponent(pw)}@${host}:${PORT}/${db}`,
        },
        this,
      );
      return {
        kind: "redis",
        host: this.host,
        port: PORT,
        db,
        username: "default",
        password: refs.password,
        url: refs.url,
        peer: this.peer,
      };
    };
    return Object.fromEntries(
      Object.entries(args.clients).map(([service, { db }]) => [service, connection(service, db)]),
    );
  }
}

/** Storage for persistence, database indexes, and maxmemory's headroom under the limit. */
function checkRedisArgs(name: string, args: RedisArgs): void {
  if (args.persistence !== "none" && !args.storage) {
    throw new Error(
      `Redis ${name}: storage is required when persistence is "${args.persistence}" (e.g. "2Gi")`,
    );
  }
  for (const [service, { db }] of Object.entries(args.clients)) {
    if (!Number.isInteger(db) || db < 0 || db > 15) {
      throw new Error(
        `Redis ${name}: clients.${service}.db must be a database index from 0 to 15 (got ${db})`,
      );
    }
  }
  if (!redisMaxMemoryFits(args.maxMemory, args.resources.limits.memory)) {
    throw new Error(
      `Redis ${name}: maxMemory ${args.maxMemory} leaves too little headroom under the memory limit ${args.resources.limits.memory} (at most ${REDIS_MAXMEMORY_SHARE * 100}% of it)`,
    );
  }
}

/** A Deployment, or a StatefulSet with a volume when persistent; Redis and its exporter. */
function redisWorkload(
  identity: { name: string; component: string },
  args: RedisArgs,
  names: { config: pulumi.Input<string>; auth: pulumi.Input<string> },
): WorkloadArgs {
  const persistent = args.persistence !== "none";
  const passwordEnv = {
    name: "REDIS_PASSWORD",
    valueFrom: { secretKeyRef: { name: names.auth, key: "password" } },
  };
  const clientPeers = Object.values(args.clients).map((c) => c.peer);
  return {
    namespace: args.namespace,
    identity,
    kind: persistent ? "StatefulSet" : "Deployment",
    replicas: 1,
    podSecurity: { runAsUser: REDIS_UID, runAsGroup: REDIS_UID, fsGroup: REDIS_UID },
    persistentVolume: persistent
      ? { name: "data", mountPath: DATA_DIR, size: args.storage!, storageClass: args.storageClass }
      : undefined,
    containers: [
      redisContainer(args.resources, persistent, passwordEnv),
      exporterContainer(passwordEnv),
    ],
    volumes: [
      { name: "config", configMap: { name: names.config } },
      {
        name: "auth",
        secret: {
          secretName: names.auth,
          items: [{ key: "auth.conf", path: "auth.conf" }],
          defaultMode: 0o440,
        },
      },
    ],
    podAnnotations: { "prometheus.io/scrape": "true", "prometheus.io/port": String(METRICS_PORT) },
    ingress: [
      ...(clientPeers.length ? [{ from: clientPeers, ports: [PORT] }] : []),
      { from: [{ namespace: args.metricsNamespace ?? "monitoring" }], ports: [METRICS_PORT] },
    ],
  };
}

/** redis-server with the mounted config and auth include; a ping with the password for readiness. */
function redisContainer(
  resources: ResourceSizes,
  persistent: boolean,
  passwordEnv: k8s.types.input.core.v1.EnvVar,
): ContainerSpec {
  return {
    name: "redis",
    image: platformImages.redis,
    command: ["redis-server", "/etc/redis/redis.conf"],
    ports: [{ name: "redis", containerPort: PORT }],
    env: [passwordEnv],
    resources,
    livenessProbe: { tcpSocket: { port: "redis" }, periodSeconds: 15, failureThreshold: 3 },
    readinessProbe: {
      exec: {
        command: [
          "sh",
          "-c",
          'redis-cli --no-auth-warning -a "$REDIS_PASSWORD" ping | grep -q PONG',
        ],
      },
      periodSeconds: 5,
      timeoutSeconds: 3,
    },
    writablePaths: persistent
      ? [{ name: "tmp", mountPath: "/tmp" }]
      : [
          { name: "tmp", mountPath: "/tmp" },
          { name: "data", mountPath: DATA_DIR, sizeLimit: "64Mi" },
        ],
    volumeMounts: [
      { name: "config", mountPath: "/etc/redis", readOnly: true },
      { name: "auth", mountPath: "/etc/redis-auth", readOnly: true },
    ],
  };
}

/** redis_exporter on 9121, logging in with the same password. */
function exporterContainer(passwordEnv: k8s.types.input.core.v1.EnvVar): ContainerSpec {
  return {
    name: "exporter",
    image: platformImages.redisExporter,
    ports: [{ name: "metrics", containerPort: METRICS_PORT }],
    env: [{ name: "REDIS_ADDR", value: `redis://127.0.0.1:${PORT}` }, passwordEnv],
    resources: {
      requests: { cpu: "10m", memory: "16Mi" },
      limits: { cpu: "100m", memory: "32Mi" },
    },
    livenessProbe: { tcpSocket: { port: "metrics" }, periodSeconds: 20 },
    readinessProbe: { httpGet: { path: "/health", port: "metrics" }, periodSeconds: 15 },
  };
}
