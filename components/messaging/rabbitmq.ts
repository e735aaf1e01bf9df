import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { AmqpConnection, connectionSecret } from "../contracts";
import { Peer, Workload } from "../apps/workload";
import { recommendedLabels, selectorLabels } from "../lib/labels";
import type { ResourceSizes } from "../security/namespace";
import { platformImages } from "../versions";
import {
  AmqpUser,
  definitions,
  checkRabbitSettings,
  enabledPlugins,
  QueueSpec,
  rabbitmqConf,
  rabbitPasswordHash,
  VHOST,
} from "./rabbitmq-config";

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
  public readonly connections: Readonly<Record<string, AmqpConnection>>;
  public readonly peer: Peer;

  constructor(name: string, args: RabbitMQArgs, opts?: pulumi.ComponentResourceOptions) {
    super("auditflow:messaging:RabbitMQ", name, {}, opts);
    if (
      !Number.isInteger(args.replicas) ||
      args.replicas < 1 ||
      (args.replicas > 1 && args.replicas % 2 === 0)
    ) {
      throw new Error(
        `RabbitMQ ${name}: replicas must be 1 or an odd number such as 3 (got ${args.replicas})`,
      );
    }
    const clustered = args.replicas > 1;
    const identity = { name, component: "message-broker" };
    const labels = recommendedLabels(identity);
    const headless = `${name}-headless`;
    const settings = {
      memoryLimit: args.resources.limits.memory,
      memoryHighWatermark: args.memoryHighWatermark,
      diskFreeLimit: args.diskFreeLimit,
      definitionsPath: "/etc/rabbitmq-definitions/definitions.json",
    };
    // Throws with the argument named before anything is created.
    checkRabbitSettings(settings);
    const confText = pulumi.output(args.namespace).apply((ns) =>
      rabbitmqConf({
        ...settings,
        clustered: clustered ? { headlessService: headless, namespace: ns } : undefined,
      }),
    );

    const passwords: Record<string, pulumi.Output<string>> = {};
    for (const u of args.users) {
      passwords[u.service] = pulumi.secret(
        new random.RandomPassword(
          `${name}-${u.service}`,
          { length: 32, special: false },
          { parent: this },
        ).result,
      );
    }
    const cookie = pulumi.secret(
      new random.RandomPassword(
        `${name}-erlang-cookie`,
        { length: 48, special: false },
        { parent: this },
      ).result,
    );

    const secret = new k8s.core.v1.Secret(
      `${name}-definitions`,
      {
        metadata: { namespace: args.namespace, labels },
        type: "Opaque",
        stringData: pulumi.secret(
          pulumi.all([pulumi.all(passwords), cookie]).apply(([pw, c]) => ({
            "definitions.json": JSON.stringify(
              definitions({
                users: args.users.map((u) => ({
                  ...u,
                  passwordHash: rabbitPasswordHash(pw[u.service]!, undefined, u.name),
                })),
                queues: args.queues,
                quorum: clustered,
              }),
              null,
              2,
            ),
            ".erlang.cookie": c,
          })),
        ),
      },
      { parent: this },
    );
    const config = new k8s.core.v1.ConfigMap(
      `${name}-config`,
      {
        metadata: { namespace: args.namespace, labels },
        data: {
          "rabbitmq.conf": confText,
          enabled_plugins: enabledPlugins(clustered),
        },
      },
      { parent: this },
    );

    // The broker's own pods (in its namespace), for the Erlang distribution ports between nodes.
    const self: Peer = { podLabels: selectorLabels(identity) };
    const workload = new Workload(
      name,
      {
        namespace: args.namespace,
        identity,
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
        initContainers: [
          {
            // The cookie file must be private to the user; Secret volumes cannot set the owner.
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
          },
        ],
        containers: [
          {
            name: "rabbitmq",
            image: platformImages.rabbitmq,
            ports: [
              { name: "amqp", containerPort: AMQP_PORT },
              { name: "management", containerPort: 15672 },
              { name: "prometheus", containerPort: 15692 },
              ...(clustered
                ? [
                    { name: "epmd", containerPort: 4369 },
                    { name: "dist", containerPort: 25672 },
                  ]
                : []),
            ],
            env: [
              { name: "POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
              {
                name: "POD_NAMESPACE",
                valueFrom: { fieldRef: { fieldPath: "metadata.namespace" } },
              },
              ...(clustered
                ? [
                    { name: "RABBITMQ_USE_LONGNAME", value: "true" },
                    {
                      name: "RABBITMQ_NODENAME",
                      value: `rabbit@$(POD_NAME).${headless}.$(POD_NAMESPACE).svc.cluster.local`,
                    },
                  ]
                : []),
            ],
            resources: args.resources,
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
            writablePaths: [{ name: "tmp", mountPath: "/tmp" }],
            volumeMounts: [
              { name: "config", mountPath: "/etc/rabbitmq", readOnly: true },
              { name: "definitions", mountPath: "/etc/rabbitmq-definitions", readOnly: true },
            ],
          },
        ],
        volumes: [
          { name: "config", configMap: { name: config.metadata.name } },
          { name: "definitions", secret: { secretName: secret.metadata.name, defaultMode: 0o440 } },
        ],
        podAnnotations: { "prometheus.io/scrape": "true", "prometheus.io/port": "15692" },
        ingress: [
          { from: args.users.map((u) => u.peer), ports: [AMQP_PORT] },
          { from: [{ namespace: args.metricsNamespace ?? "monitoring" }], ports: [15692] },
          ...(clustered ? [{ from: [self], ports: [4369, 25672] }] : []),
        ],
        egress: clustered ? [{ to: [self], ports: [4369, 25672] }] : [],
      },
      { parent: this },
    );
    this.host = workload.host!;
    this.peer = workload.peer;

    if (clustered) {
      const role = new k8s.rbac.v1.Role(
        `${name}-peer-discovery`,
        {
          metadata: { namespace: args.namespace, labels },
          rules: [{ apiGroups: [""], resources: ["endpoints"], verbs: ["get"] }],
        },
        { parent: this },
      );
      new k8s.rbac.v1.RoleBinding(
        `${name}-peer-discovery`,
        {
          metadata: { namespace: args.namespace, labels },
          roleRef: {
            apiGroup: "rbac.authorization.k8s.io",
            kind: "Role",
            name: role.metadata.name,
          },
          subjects: [
            {
              kind: "ServiceAccount",
              name: workload.serviceAccountName,
              namespace: args.namespace,
            },
          ],
        },
        { parent: this },
      );
    }

    const connections: Record<string, AmqpConnection> = {};
    for (const u of args.users) {
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
      connections[u.service] = {
        kind: "amqp",
        host: this.host,
        port: AMQP_PORT,
        vhost: VHOST,
        username: u.name,
        password: refs.password,
        url: refs.url,
        peer: this.peer,
      };
    }
    this.connections = connections;
    this.registerOutputs({ host: this.host });
  }
}
