import * as pulumi from "@pulumi/pulumi";
import { connectionEgress, connectionEnv, PostgresConnection } from "../contracts";
import { Workload } from "../apps/workload";

export interface MigrationArgs {
  /** Namespace of the service. Required. */
  namespace: pulumi.Input<string>;
  /** The service whose schema it migrates. Required. */
  service: string;
  /** The service's image (the migration scripts ship with it). Required. */
  image: string;
  /** The migration command, e.g. ["alembic", "upgrade", "head"]. Required. */
  command: readonly string[];
  /** The service's database connection (through PgBouncer). Required. */
  database: PostgresConnection;
  /** Seconds before the Job is failed. Defaults to 600. */
  timeoutSeconds?: number;
}

/**
 * A Job that migrates a service's database schema with the service's own image, credentials and
 * security context. Pulumi waits for it to complete, and the service's Deployment depends on it, so
 * a new version rolls out only on a migrated schema. The Job is replaced when the image changes.
 */
export class Migration extends pulumi.ComponentResource {
  /** The Job, for `dependsOn`. */
  public readonly job: Workload["workload"];

  constructor(name: string, args: MigrationArgs, opts?: pulumi.ComponentResourceOptions) {
    super("auditflow:data:Migration", name, {}, opts);
    if (args.command.length === 0) throw new Error(`Migration ${name}: command must not be empty`);
    const w = new Workload(
      name,
      {
        namespace: args.namespace,
        identity: { name: `${args.service}-migrate`, component: "migration" },
        kind: "Job",
        replicas: 1,
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
              ...connectionEnv(args.database),
              // Alembic's env.py reads the URL; SQLAlchemy must not keep server-side prepared
              // statements or session state, which PgBouncer's transaction pooling would break.
              { name: "SQLALCHEMY_POOL_CLASS", value: "NullPool" },
              { name: "PGBOUNCER_TRANSACTION_POOLING", value: "true" },
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
