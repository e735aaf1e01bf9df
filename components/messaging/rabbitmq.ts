import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { AmqpConnection, connectionSecret } from "../contracts";
import { ContainerSpec, InitContainerSpec, Peer, Workload, WorkloadArgs } from "../apps/workload";
import { type ObjectMeta, recommendedLabels, selectorLabels } from "../lib/labels";
import type { ResourceSizes } from "../security/namespace";
import { platformImages } from "../versions";
import {
  AmqpUser,
  definitions,
  checkRabbitSettings,
  enabledPlugins,
  QueueSpec,
  RabbitSettings,
  rabbitmqConf,
  rabbitPasswordHash,
  VHOST,
} from "./rabbitmq-config";

/** The prometheus plugin's metrics port (container port, scrape annotation, NetworkPolicy). */
const METRICS_PORT = 15692;

const AMQP_PORT = 5672;
/** UID/GID of the rabbitmq user in the official Alpine image. */
const RABBIT_UID = 100;
const RABBIT_GID = 101;

export interface RabbitMQArgs {
  /** Namespace of the broker (the data namespace). Required. */
  namespace: pulumi.Input<string>;
  /** Nodes: 1, or an odd number for a cluster with quorum queues. Required. */
  replicas: number;
  /** Volume per node, e.g. "2Gi". Required. */
  storage: string;
  /** Storage class. Defaults to the cluster default. */
  storageClass?: string;
  /** Fraction of the memory limit at which publishers are blocked. Required. */
  memoryHighWatermark: number;
  /** Free disk below which publishers are blocked, e.g. "1GB". Required. */
  diskFreeLimit: string;
  /** Requests and limits. Required. */
  resources: ResourceSizes;
  /** One user per service with what it may do, and the pods it runs in. Required. */
  users: readonly (AmqpUser & { peer: Peer })[];
  /** Queues bound to the events exchange. Required. */
  queues: readonly QueueSpec[];
  /** Namespace of the services; their connection Secrets are created there. Required. */
  clientNamespace: pulumi.Input<string>;
  /** Namespace whose pods may scrape metrics. Defaults to "monitoring". */
  metricsNamespace?: string;
}

/**
 * RabbitMQ as a StatefulSet: rabbitmq.conf with the memory watermark relative to the container
 * limit, management and Prometheus plugins, definitions loaded at boot (vhost, topic exchange,
 * durable queues with a dead-letter exchange, quorum queues when clustered, one least-privilege user
 * per service), Erlang cookie and passwords generated, rabbitmq-diagnostics probes, and a cluster
 * formed through Kubernetes peer discovery when replicas > 1.
 */
export class RabbitMQ extends pulumi.ComponentResource {
  public readonly host: pulumi.Output<string>;
  public readonly port = AMQP_PORT;
  /** The prometheus plugin's port (Prometheus' egress admits it). */
  public readonly metricsPort = METRICS_PORT;
  public readonly connections: Readonly<Record<string, AmqpConnection>>;
  public readonly peer: Peer;

  constructor(name: string, args: RabbitMQArgs, opts?: pulumi.ComponentResourceOptions) {
    super("auditflow:messaging:RabbitMQ", name, {}, opts);
    // Both throw with the argument named before anything is created.
    checkReplicas(name, args.replicas);
    const settings = brokerSettings(args);
    checkRabbitSettings(settings);
    const broker: Broker = {
      name,
      identity: { name, component: "message-broker" },
      clustered: args.replicas > 1,
      headless: `${name}-headless`,
    };
    const meta = { namespace: args.namespace, labels: recommendedLabels(broker.identity) };

    const passwords = this.userPasswords(name, args.users);
    const cookie = this.password(`${name}-erlang-cookie`, 48);
    const secret = this.definitionsSecret(broker, meta, args, passwords, cookie);
    const config = this.configMap(broker, meta, args.namespace, settings);
    const workload = new Workload(
      name,
      brokerWorkload(broker, args, { config: config.metadata.name, secret: secret.metadata.name }),
      { parent: this },
    );
    this.host = workload.host!;
    this.peer = workload.peer;
    if (broker.clustered) this.peerDiscovery(name, meta, workload.serviceAccountName);
    this.connections = this.clientConnections(name, args, passwords);
    this.registerOutputs({ host: this.host });
  }

  /** A generated password (secret), a RandomPassword child named `name`. */
  private password(name: string, length: number): pulumi.Output<string> {
    return pulumi.secret(
      new random.RandomPassword(name, { length, special: false }, { parent: this }).result,
    );
  }

  /** One generated password per service user. */
  private userPasswords(
    name: string,
    users: RabbitMQArgs["users"],
  ): Record<string, pulumi.Output<string>> {
    return Object.fromEntries(
      users.map((u) => [u.service, this.password(`${name}-${u.service}`, 32)]),
    );
  }

  /** The definitions loaded at boot (users with their password hashes) and the Erlang cookie. */
  private definitionsSecret(
    broker: Broker,
    meta: ObjectMeta,
    args: RabbitMQArgs,
    passwords: Record<string, pulumi.Output<string>>,
    cookie: pulumi.Output<string>,
  ): k8s.core.v1.Secret {
    const stringData = pulumi.all([pulumi.all(passwords), cookie]).apply(([pw, c]) => ({
      "definitions.json": JSON.stringify(
        definitions({
          users: args.users.map((u) => ({
            ...u,
            passwordHash: rabbitPasswordHash(pw[u.service]!, undefined, u.name),
          })),
          queues: args.queues,
          quorum: broker.clustered,
        }),
        null,
        2,
      ),
      ".erlang.cookie": c,
    }));
    return new k8s.core.v1.Secret(
      `${broker.name}-definitions`,
      { metadata: meta, type: "Opaque", stringData: pulumi.secret(stringData) },
      { parent: this },
    );
  }

  /** rabbitmq.conf (peer discovery through the headless Service when clustered) and the plugins. */
  private configMap(
    broker: Broker,
    meta: ObjectMeta,
    namespace: pulumi.Input<string>,
    settings: Omit<RabbitSettings, "clustered">,
  ): k8s.core.v1.ConfigMap {
    const conf = pulumi.output(namespace).apply((ns) =>
      rabbitmqConf({
        ...settings,
        clustered: broker.clustered
          ? { headlessService: broker.headless, namespace: ns }
          : undefined,
      }),
    );
    return new k8s.core.v1.ConfigMap(
      `${broker.name}-config`,
      {
        metadata: meta,
        data: { "rabbitmq.conf": conf, enabled_plugins: enabledPlugins(broker.clustered) },
      },
      { parent: this },
    );
  }

  /** A Role that may only read endpoints, for Kubernetes peer discovery, bound to the broker. */
  private peerDiscovery(
    name: string,
    meta: ObjectMeta,
    serviceAccountName: pulumi.Input<string>,
  ): void {
    const role = new k8s.rbac.v1.Role(
      `${name}-peer-discovery`,
      {
        metadata: meta,
        rules: [{ apiGroups: [""], resources: ["endpoints"], verbs: ["get"] }],
      },
      { parent: this },
    );
    new k8s.rbac.v1.RoleBinding(
      `${name}-peer-discovery`,
      {
        metadata: meta,
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: role.metadata.name },
        subjects: [{ kind: "ServiceAccount", name: serviceAccountName, namespace: meta.namespace }],
      },
      { parent: this },
    );
  }

  /** Each service's connection contract, its password and URL in a Secret of its namespace. */
  private clientConnections(
    name: string,
    args: RabbitMQArgs,
    passwords: Record<string, pulumi.Output<string>>,
  ): Record<string, AmqpConnection> {
    const connection = (u: RabbitMQArgs["users"][number]): AmqpConnection => {
      const refs = connectionSecret(
        `${name}-${u.service}`,
        {
          namespace: args.clientNamespace,
          service: u.service,
          password: passwords[u.service]!,
          host: this.host,
          url: (pw, host) =>
            `amqp://${u.name}:${encodeURIComponent(pw)}@${host}:${AMQP_PORT}/${VHOST}`,
        },
        this,
      );
      return {
        kind: "amqp",
        host: this.host,
        port: AMQP_PORT,
        vhost: VHOST,
        username: u.name,
        password: refs.password,
        url: refs.url,
        peer: this.peer,
      };
    };
    return Object.fromEntries(args.users.map((u) => [u.service, connection(u)]));
  }
}

/** What the broker's parts share. */
interface Broker {
  name: string;
  identity: { name: string; component: string };
  clustered: boolean;
  /** The headless Service the nodes find each other through (the Workload's). */
  headless: string;
}

/** 1, or an odd number of nodes (a quorum needs a majority). */
function checkReplicas(name: string, replicas: number): void {
  if (!Number.isInteger(replicas) || replicas < 1 || (replicas > 1 && replicas % 2 === 0))
    throw new Error(
      `RabbitMQ ${name}: replicas must be 1 or an odd number such as 3 (got ${replicas})`,
    );
}

/** The settings rabbitmq.conf is rendered from (checked before anything is created). */
function brokerSettings(args: RabbitMQArgs): Omit<RabbitSettings, "clustered"> {
  return {
    memoryLimit: args.resources.limits.memory,
    memoryHighWatermark: args.memoryHighWatermark,
    diskFreeLimit: args.diskFreeLimit,
    definitionsPath: "/etc/rabbitmq-definitions/definitions.json",
  };
}

/** The StatefulSet: the cookie init container, the broker, its volumes and network rules. */
function brokerWorkload(
  broker: Broker,
  args: RabbitMQArgs,
  names: { config: pulumi.Input<string>; secret: pulumi.Input<string> },
): WorkloadArgs {
  const { clustered } = broker;
  // The broker's own pods (in its namespace), for the Erlang distribution ports between nodes.
  const self: Peer = { podLabels: selectorLabels(broker.identity) };
  return {
    namespace: args.namespace,
    identity: broker.identity,
    kind: "StatefulSet",
    replicas: args.replicas,
    podManagementPolicy: clustered ? "Parallel" : "OrderedReady",
    // Peer discovery asks the API server for the headless Service's endpoints.
    automountServiceAccountToken: clustered,
    podSecurity: { runAsUser: RABBIT_UID, runAsGroup: RABBIT_GID, fsGroup: RABBIT_GID },
    persistentVolume: {
      name: "data",
      mountPath: "/var/lib/rabbitmq",
      size: args.storage,
      storageClass: args.storageClass,
    },
    terminationGracePeriodSeconds: 120,
    initContainers: [cookieInitContainer()],
    containers: [brokerContainer(broker, args.resources)],
    volumes: [
      { name: "config", configMap: { name: names.config } },
      { name: "definitions", secret: { secretName: names.secret, defaultMode: 0o440 } },
    ],
    podAnnotations: { "prometheus.io/scrape": "true", "prometheus.io/port": String(METRICS_PORT) },
    ingress: [
      { from: args.users.map((u) => u.peer), ports: [AMQP_PORT] },
      { from: [{ namespace: args.metricsNamespace ?? "monitoring" }], ports: [METRICS_PORT] },
      ...(clustered ? [{ from: [self], ports: [4369, 25672] }] : []),
    ],
    egress: clustered ? [{ to: [self], ports: [4369, 25672] }] : [],
  };
}

/** Copies the Erlang cookie private to the user: Secret volumes cannot set the owner. */
function cookieInitContainer(): InitContainerSpec {
  return {
    name: "erlang-cookie",
    image: platformImages.rabbitmq,
    command: [
      "sh",
      "-c",
      "install -m 0400 /etc/rabbitmq-secret/.erlang.cookie /var/lib/rabbitmq/.erlang.cookie",
    ],
    resources: {
      requests: { cpu: "10m", memory: "16Mi" },
      limits: { cpu: "50m", memory: "32Mi" },
    },
    volumeMounts: [
      { name: "data", mountPath: "/var/lib/rabbitmq" },
      { name: "definitions", mountPath: "/etc/rabbitmq-secret", readOnly: true },
    ],
  };
}

/** The broker container: AMQP, management and metrics ports (plus Erlang's when clustered). */
function brokerContainer(broker: Broker, resources: ResourceSizes): ContainerSpec {
  return {
    name: "rabbitmq",
    image: platformImages.rabbitmq,
    ports: [
      { name: "amqp", containerPort: AMQP_PORT },
      { name: "management", containerPort: 15672 },
      { name: "prometheus", containerPort: METRICS_PORT },
      ...(broker.clustered
        ? [
            { name: "epmd", containerPort: 4369 },
            { name: "dist", containerPort: 25672 },
          ]
        : []),
    ],
    env: brokerEnv(broker),
    resources,
    ...brokerProbes,
    writablePaths: [{ name: "tmp", mountPath: "/tmp" }],
    volumeMounts: [
      { name: "config", mountPath: "/etc/rabbitmq", readOnly: true },
      { name: "definitions", mountPath: "/etc/rabbitmq-definitions", readOnly: true },
    ],
  };
}

/** The pod's name and namespace; when clustered, the long node name peers reach it by. */
function brokerEnv(broker: Broker): k8s.types.input.core.v1.EnvVar[] {
  return [
    { name: "POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
    { name: "POD_NAMESPACE", valueFrom: { fieldRef: { fieldPath: "metadata.namespace" } } },
    ...(broker.clustered
      ? [
          { name: "RABBITMQ_USE_LONGNAME", value: "true" },
          {
            name: "RABBITMQ_NODENAME",
            value: `rabbit@$(POD_NAME).${broker.headless}.$(POD_NAMESPACE).svc.cluster.local`,
          },
        ]
      : []),
  ];
}

/** rabbitmq-diagnostics probes: started (ping), alive (status), ready (ports accept). */
const brokerProbes = {
  startupProbe: {
    exec: { command: ["rabbitmq-diagnostics", "-q", "ping"] },
    periodSeconds: 10,
    timeoutSeconds: 10,
    failureThreshold: 30,
  },
  livenessProbe: {
    exec: { command: ["rabbitmq-diagnostics", "-q", "status"] },
    periodSeconds: 60,
    timeoutSeconds: 20,
    failureThreshold: 3,
  },
  readinessProbe: {
    exec: { command: ["rabbitmq-diagnostics", "-q", "check_port_connectivity"] },
    periodSeconds: 20,
    timeoutSeconds: 15,
  },
} satisfies Pick<ContainerSpec, "startupProbe" | "livenessProbe" | "readinessProbe">;
