/**
 * Typed connection contracts between data services and the apps that use them.
 *
 * A data component publishes one contract per consuming service; an app turns it into environment
 * variables (`connectionEnv`) and NetworkPolicy egress (`connectionEgress`). Apps never assemble a
 * connection string or a password themselves: both come from the Secret the contract names.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { EgressRule, Peer } from "./apps/workload";
import { recommendedLabels } from "./lib/labels";

/** A key in a Kubernetes Secret. */
export interface SecretKeyRef {
  /** Secret name. */
  name: pulumi.Input<string>;
  /** Key inside the Secret. */
  key: string;
}

interface ConnectionBase {
  /** In-cluster DNS name of the endpoint to connect to. */
  host: pulumi.Input<string>;
  /** TCP port. */
  port: number;
  /** User name (not secret). */
  username: pulumi.Input<string>;
  /** The password. */
  password: SecretKeyRef;
  /** A complete connection URL including the password. */
  url: SecretKeyRef;
  /** Pods that serve the endpoint, for the client's NetworkPolicy egress. */
  peer: Peer;
}

/** A PostgreSQL database reached through PgBouncer (or directly). */
export interface PostgresConnection extends ConnectionBase {
  kind: "postgres";
  /** Database name. */
  database: string;
}

/** A Redis endpoint. */
export interface RedisConnection extends ConnectionBase {
  kind: "redis";
  /** Logical database index. */
  db: number;
}

/** An AMQP 0-9-1 endpoint (RabbitMQ). */
export interface AmqpConnection extends ConnectionBase {
  kind: "amqp";
  /** Virtual host. */
  vhost: string;
}

export type Connection = PostgresConnection | RedisConnection | AmqpConnection;

const prefixes: Record<Connection["kind"], string> = {
  postgres: "DATABASE",
  redis: "REDIS",
  amqp: "AMQP",
};

/**
 * Environment variables for a connection, e.g. DATABASE_HOST, DATABASE_PORT, DATABASE_NAME,
 * DATABASE_USER, DATABASE_PASSWORD and DATABASE_URL (the last two from the Secret).
 */
export function connectionEnv(c: Connection): k8s.types.input.core.v1.EnvVar[] {
  const p = prefixes[c.kind];
  const fromSecret = (name: string, ref: SecretKeyRef) => ({
    name,
    valueFrom: { secretKeyRef: { name: ref.name, key: ref.key } },
  });
  const specific: k8s.types.input.core.v1.EnvVar[] =
    c.kind === "postgres"
      ? [{ name: `${p}_NAME`, value: c.database }]
      : c.kind === "redis"
        ? [{ name: `${p}_DB`, value: String(c.db) }]
        : [{ name: `${p}_VHOST`, value: c.vhost }];
  return [
    { name: `${p}_HOST`, value: c.host },
    { name: `${p}_PORT`, value: String(c.port) },
    ...specific,
    { name: `${p}_USER`, value: c.username },
    fromSecret(`${p}_PASSWORD`, c.password),
    fromSecret(`${p}_URL`, c.url),
  ];
}

/** The NetworkPolicy egress rule a client needs to reach a connection's endpoint. */
export function connectionEgress(c: Connection): EgressRule {
  return { to: [c.peer], ports: [c.port] };
}

/**
 * The Secret behind one service's connection contract, created in the service's namespace: the
 * password and a complete URL built from it (`url(password, host)`), both kept secret.
 */
export function connectionSecret(
  name: string,
  args: {
    namespace: pulumi.Input<string>;
    /** The service the Secret is for: its recommended labels name it (component "credentials"). */
    service: string;
    password: pulumi.Input<string>;
    host: pulumi.Input<string>;
    url: (password: string, host: string) => string;
  },
  parent: pulumi.Resource,
): { password: SecretKeyRef; url: SecretKeyRef } {
  const secret = new k8s.core.v1.Secret(
    name,
    {
      metadata: {
        namespace: args.namespace,
        labels: recommendedLabels({ name: args.service, component: "credentials" }),
      },
      type: "Opaque",
      stringData: pulumi.secret(
        pulumi
          .all([args.password, args.host])
          .apply(([pw, host]) => ({ password: pw, url: args.url(pw, host) })),
      ),
    },
    { parent },
  );
  return {
    password: { name: secret.metadata.name, key: "password" },
    url: { name: secret.metadata.name, key: "url" },
  };
}
