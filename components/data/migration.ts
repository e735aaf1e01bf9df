import * as pulumi from "@pulumi/pulumi";
import { connectionEgress, connectionEnv, PostgresConnection } from "../contracts";
import { Peer, Workload } from "../apps/workload";
import { selectorLabels } from "../lib/labels";

export interface MigrationArgs {
  /** Namespace of the service. Required. */
  namespace: pulumi.Input<string>;
  /** The service whose schema it migrates. Required. */
  service: string;
  /** The service's image (the migration scripts ship with it). Required. */
  image: pulumi.Input<string>;
  /** `app.kubernetes.io/version`. Defaults to the image's tag (none for a digest Output). */
  version?: string;
  /**
   * The migration command, run in the image's working directory, e.g. ["alembic", "upgrade",
   * "head"]. Required.
   */
  command: readonly string[];
  /** The service's database connection (through PgBouncer). Required. */
  database: PostgresConnection;
  /** Seconds before the Job is failed. Defaults to 600. */
  timeoutSeconds?: number;
  /**
   * What the Job waits for, e.g. this rollout's pre-migration backup: Pulumi runs the migration
   * only after they succeeded. Defaults to nothing.
   */
  after?: pulumi.Resource[];
}

/** The app name of a service's migration Job (its pods' selector). */
function migrationName(service: string): string {
  return `${service}-migrate`;
}

/**
 * A Job that migrates a service's database schema with the service's own image, credentials and
 * security context. Pulumi waits for it to complete, and the service's Deployment depends on it, so
 * a new version rolls out only on a migrated schema. The Job is replaced when the image changes.
 *
 * The contract with the service's image: the image runs `command` (`alembic upgrade head`) in its
 * working directory, where its migrations live, and its Alembic env.py reads the connection from
 * DATABASE_URL (`postgresql://` through PgBouncer, driver psycopg2), handing it to create_engine
 * directly: the password is percent-encoded, which config.set_main_option's ConfigParser
 * interpolation would misread. The Job sets only SERVICE_NAME and the connection contract's
 * variables (DATABASE_HOST, _PORT, _NAME, _USER, _PASSWORD, _URL).
 * PgBouncer's transaction pooling needs nothing more: Alembic's generic env.py uses NullPool,
 * psycopg2 uses no server-side prepared statements, and Alembic runs the whole upgrade in one
 * transaction, so a failed migration leaves the schema as it was (PostgreSQL's DDL is
 * transactional). tests/conformance/migration.test.ts runs this Job's command and environment with
 * a real Alembic through a real PgBouncer.
 */
export class Migration extends pulumi.ComponentResource {
  /** The Job, for `dependsOn`. */
  public readonly job: Workload["workload"];

  /** The pods of `service`'s migration Job in `namespace`, for PgBouncer's NetworkPolicy. */
  static peer(service: string, namespace: pulumi.Input<string>): Peer {
    return { podLabels: selectorLabels({ name: migrationName(service) }), namespace };
  }

  constructor(name: string, args: MigrationArgs, opts?: pulumi.ComponentResourceOptions) {
    super("auditflow:data:Migration", name, {}, opts);
    if (args.command.length === 0) throw new Error(`Migration ${name}: command must not be empty`);
    const w = new Workload(
      name,
      {
        namespace: args.namespace,
        identity: {
          name: migrationName(args.service),
          component: "migration",
          version: args.version,
        },
        kind: "Job",
        replicas: 1,
        dependsOn: args.after,
        job: {
          backoffLimit: 2,
          ttlSecondsAfterFinished: 86400,
          activeDeadlineSeconds: args.timeoutSeconds ?? 600,
        },
        containers: [
          {
            name: "migrate",
            image: args.image,
            command: [...args.command],
            env: [
              { name: "SERVICE_NAME", value: args.service },
              // The image's env.py reads DATABASE_URL (see the class comment).
              ...connectionEnv(args.database),
            ],
            resources: {
              requests: { cpu: "50m", memory: "96Mi" },
              limits: { cpu: "500m", memory: "256Mi" },
            },
          },
        ],
        egress: [connectionEgress(args.database)],
      },
      { parent: this },
    );
    this.job = w.workload;
    this.registerOutputs({});
  }
}
