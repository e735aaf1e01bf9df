import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { Peer } from "../apps/workload";
import { compliantPodSpec } from "../apps/workload";
import { type ObjectMeta, recommendedLabels, selectorLabels } from "../lib/labels";
import { ownImages } from "../versions";
import { ipv4CidrPattern, s3BucketPattern, s3PrefixPattern } from "../lib/net";
import { ageRecipientPattern, cronPattern, dns1123LabelPattern } from "../lib/formats";
import type { ContainerEnvValue, EnvContract, EnvValues, ShellScript } from "../lib/shell";
import { backupScript, backupScriptFiles, OFFSITE_ENV, verifyScript } from "./backup-scripts";
import { MONITORING_ROLE } from "./postgres-config";

export interface PostgresBackupArgs {
  /** Namespace of the server (the data namespace). Required. */
  namespace: pulumi.Input<string>;
  /** The server: host, port, its pods, and the Secret with POSTGRES_PASSWORD. Required. */
  postgres: {
    host: pulumi.Input<string>;
    port: number;
    peer: Peer;
    secretName: pulumi.Input<string>;
    /**
     * The server's StatefulSet: pre-migration backups start only once Pulumi saw it ready (on a
     * fresh stack they would otherwise race the server). Defaults to none.
     */
    server?: pulumi.Resource;
  };
  /**
   * The backup image (components/images/postgres-backup), usually the digest reference of the
   * program's own build. Defaults to the prebuilt reference in components/versions.ts.
   */
  image?: pulumi.Input<string>;
  /** Databases to back up. Required (at least one). */
  databases: readonly string[];
  /** Cron schedule of the backup. Required. */
  schedule: string;
  /** Cron schedule of the verification (after the backup). Required. */
  verifySchedule: string;
  /** Backups kept. Required (1-90). */
  keep: number;
  /** Volume for the backups, e.g. "10Gi". Required. */
  storage: string;
  /** Storage class. Defaults to the cluster default. */
  storageClass?: string;
  /**
   * age public keys the backups are encrypted to: the operator's recovery key (its private half
   * never enters the cluster) and the verification key. Required (at least one).
   */
  recipients: readonly string[];
  /** The verification key's private half (secret); only the verification job can read it. Required. */
  verifyIdentity: pulumi.Input<string>;
  /** Off-site copy of every backup to an S3-compatible store. Defaults to none (local volume only). */
  offsite?: BackupOffsite;
  /**
   * Backups taken right before a service's schema migration, one Job per entry (see
   * `preMigrationJobs`). Defaults to none.
   */
  preMigration?: readonly PreMigrationBackup[];
}

/** A backup of one service's database for one rollout, taken before its migration runs. */
export interface PreMigrationBackup {
  /** The service whose migration waits for it (DNS-1123 label). Required. */
  service: string;
  /** Its database; must be one of `databases`. Required. */
  database: string;
  /**
   * What identifies the rollout, normally the service's image reference: it is written into the
   * Job's pod template, so a new rollout replaces the Job and a new backup is taken. Required.
   */
  rollout: pulumi.Input<string>;
}

/** Pre-migration backups kept per service (their own directory, apart from the nightly ones). */
export const PRE_MIGRATION_KEEP = 3;
/** Seconds a pre-migration backup may take before its Job fails (and stops the rollout). */
export const PRE_MIGRATION_DEADLINE_SECONDS = 1800;

/** An S3-compatible store that receives a copy of every backup (path-style URLs, SigV4). */
export interface BackupOffsite {
  /** Scheme, host and optional port, e.g. "https://s3.example.net:9000". Required. */
  endpoint: string;
  /** Bucket name. Required. */
  bucket: string;
  /** Key prefix inside the bucket, without slashes at either end, e.g. "auditflow/prod". Required. */
  prefix: string;
  /** Signing region. Defaults to "us-east-1" (what MinIO and most self-hosted stores expect). */
  region?: string;
  /** Access key ID (not secret). Required. */
  accessKeyId: string;
  /** Secret access key (secret Output); it reaches the pods through a Kubernetes Secret. Required. */
  secretAccessKey: pulumi.Input<string>;
  /**
   * IPv4 CIDRs of the store: the only addresses the backup pods may reach besides PostgreSQL.
   * Required.
   */
  egressCidrs: readonly string[];
  /** PEM certificates to trust for the endpoint (a private CA). Defaults to the image's system CAs. */
  caBundle?: string;
  /** Accept an http:// endpoint. Defaults to false. */
  allowHttp?: boolean;
}

/** An off-site target once checked: plus the URL the scripts write under and the port to allow. */
type OffsiteTarget = BackupOffsite & { url: string; port: number };

/** Checks an off-site target and resolves its URL and port. */
function offsiteTarget(o: BackupOffsite, fail: (m: string) => never): OffsiteTarget {
  let endpoint: URL;
  try {
    endpoint = new URL(o.endpoint);
  } catch {
    return fail(`offsite.endpoint "${o.endpoint}" is not a URL (e.g. https://s3.example.net)`);
  }
  if (endpoint.protocol !== "https:" && !(endpoint.protocol === "http:" && o.allowHttp))
    fail(`offsite.endpoint "${o.endpoint}" must use https:// (http:// only with allowHttp)`);
  if (endpoint.pathname !== "/" || endpoint.search || endpoint.username)
    fail(`offsite.endpoint "${o.endpoint}" must be only scheme, host and port`);
  if (!s3BucketPattern.test(o.bucket))
    fail(`offsite.bucket "${o.bucket}" is not an S3 bucket name`);
  if (!s3PrefixPattern.test(o.prefix))
    fail(`offsite.prefix "${o.prefix}" must be path segments without slashes at either end`);
  if (o.egressCidrs.length === 0) fail("offsite.egressCidrs must list the store's addresses");
  for (const c of o.egressCidrs)
    if (!ipv4CidrPattern.test(c)) fail(`offsite.egressCidrs entry "${c}" is not an IPv4 CIDR`);
  const port = Number(endpoint.port || (endpoint.protocol === "https:" ? 443 : 80));
  return { ...o, url: `${endpoint.origin}/${o.bucket}/${o.prefix}`, port };
}

/** Checks the arguments; returns the off-site target, if any, with its URL and port. */
function checkBackupArgs(name: string, args: PostgresBackupArgs): OffsiteTarget | undefined {
  const fail = (m: string): never => {
    throw new Error(`PostgresBackup ${name}: ${m}`);
  };
  if (args.databases.length === 0) fail("databases must list at least one database");
  if (!cronPattern.test(args.schedule))
    fail(`schedule "${args.schedule}" must be a five-field cron expression`);
  if (!cronPattern.test(args.verifySchedule))
    fail(`verifySchedule "${args.verifySchedule}" must be a five-field cron expression`);
  if (!Number.isInteger(args.keep) || args.keep < 1 || args.keep > 90)
    fail(`keep must be a whole number from 1 to 90 (got ${args.keep})`);
  if (args.recipients.length === 0) fail("recipients must list at least one age public key");
  for (const r of args.recipients)
    if (!ageRecipientPattern.test(r)) fail(`recipient "${r}" is not an age public key (age1...)`);
  const offsite = args.offsite && offsiteTarget(args.offsite, fail);
  for (const p of args.preMigration ?? []) {
    if (!dns1123LabelPattern.test(p.service))
      fail(`preMigration service "${p.service}" must be a DNS-1123 label`);
    if (!args.databases.includes(p.database))
      fail(
        `preMigration database "${p.database}" of ${p.service} is not one of databases (${args.databases.join(", ")})`,
      );
  }
  return offsite;
}

/** The names every backup pod refers to, and its image. */
interface PodParts {
  image: pulumi.Input<string>;
  serviceAccount: pulumi.Input<string>;
  scripts: pulumi.Input<string>;
  volume: pulumi.Input<string>;
  key: pulumi.Input<string>;
}

/** What every backup Job of one component shares. */
interface JobContext {
  name: string;
  meta: ObjectMeta;
  pod: PodParts;
}

/** The pod of every backup Job: the backup image, the scripts and the backup volume. */
function backupPod(
  parts: PodParts,
  container: string,
  script: ShellScript<EnvContract>,
  env: k8s.types.input.core.v1.EnvVar[],
  withKey: boolean,
): k8s.types.input.core.v1.PodSpec {
  return compliantPodSpec({
    serviceAccountName: parts.serviceAccount,
    runAsUser: 70,
    restartPolicy: "Never",
    containers: [
      {
        name: container,
        image: parts.image,
        command: ["sh", `/scripts/${script.name}`],
        env,
        resources: {
          requests: { cpu: "50m", memory: "48Mi" },
          limits: { cpu: "500m", memory: "128Mi" },
        },
        volumeMounts: [
          { name: "scripts", mountPath: "/scripts", readOnly: true },
          { name: "backups", mountPath: "/backups" },
          ...(withKey ? [{ name: "key", mountPath: "/keys", readOnly: true }] : []),
        ],
      },
    ],
    volumes: [
      { name: "scripts", configMap: { name: parts.scripts } },
      { name: "backups", persistentVolumeClaim: { claimName: parts.volume } },
      ...(withKey ? [{ name: "key", secret: { secretName: parts.key, defaultMode: 0o400 } }] : []),
    ],
  });
}

/**
 * Nightly encrypted backups of every database onto their own volume, and a later job that proves
 * the newest one restores (checksums, decrypt, restore into a scratch database, row counts). Both
 * run the scripts the conformance tier proves on a real server. Every verification records its
 * outcome in PostgreSQL, which the Postgres component's exporter sidecar publishes as
 * auditflow_backup_verify_success (0 on a failure, which also fails the Job) and
 * auditflow_backup_verify_timestamp_seconds, for alerts on a failure and on a stale timestamp.
 */
export class PostgresBackup extends pulumi.ComponentResource {
  /** The backup jobs' pods of the PostgresBackup named `name`, in the caller's namespace. */
  static peer(name: string): Peer {
    return { podLabels: selectorLabels({ name }) };
  }

  /**
   * The pre-migration backup Job of each service in `preMigration`, for the migration's
   * `dependsOn`: Pulumi waits for the Job to succeed, and when it fails (pg_dump, encryption or the
   * off-site copy), `pulumi up` stops there and neither the migration nor the new version runs.
   */
  public readonly preMigrationJobs: Readonly<Record<string, k8s.batch.v1.Job>>;

  constructor(name: string, args: PostgresBackupArgs, opts?: pulumi.ComponentResourceOptions) {
    super("auditflow:data:PostgresBackup", name, {}, opts);
    // Throws with the argument named before anything is created.
    const offsite = checkBackupArgs(name, args);
    const labels = recommendedLabels({ name, component: "backup" });
    const meta = { namespace: args.namespace, labels };
    const pod = this.podParts(name, meta, args, offsite);
    const common = {
      PGHOST: args.postgres.host,
      PGPORT: String(args.postgres.port),
      PGUSER: "postgres",
      PGPASSWORD: {
        valueFrom: { secretKeyRef: { name: args.postgres.secretName, key: "POSTGRES_PASSWORD" } },
      },
      BACKUP_DIR: "/backups",
      ...(offsite ? this.offsiteEnv(name, meta, offsite) : {}),
    };
    const ctx: JobContext = { name, meta, pod };

    const backupEnv = backupScript.containerEnv({
      ...common,
      BACKUP_DATABASES: args.databases.join(" "),
      BACKUP_KEEP: String(args.keep),
      BACKUP_RECIPIENTS: args.recipients.join(" "),
    });
    this.cronJob(ctx, "backup", args.schedule, backupScript, backupEnv, false);
    const verifyEnv = verifyScript.containerEnv({
      ...common,
      AGE_IDENTITY_FILE: "/keys/identity.txt",
      // The outcome is recorded in PostgreSQL for this role, whose exporter sidecar publishes it.
      MONITORING_ROLE,
    });
    this.cronJob(ctx, "verify", args.verifySchedule, verifyScript, verifyEnv, true);
    this.preMigrationJobs = Object.fromEntries(
      (args.preMigration ?? []).map((p) => [
        p.service,
        this.preMigrationJob(
          ctx,
          p,
          args.postgres.server,
          backupScript.containerEnv({
            ...common,
            BACKUP_DIR: `/backups/pre-migration/${p.service}`,
            ...(offsite ? { OFFSITE_URL: `${offsite.url}/pre-migration/${p.service}` } : {}),
            BACKUP_DATABASES: p.database,
            BACKUP_KEEP: String(PRE_MIGRATION_KEEP),
            BACKUP_RECIPIENTS: args.recipients.join(" "),
          }),
        ),
      ]),
    );
    this.networkPolicy(name, meta, args.postgres, offsite);
    this.registerOutputs({});
  }

  /** What every backup pod mounts and runs as: the scripts, the key, the volume, the account. */
  private podParts(
    name: string,
    meta: ObjectMeta,
    args: PostgresBackupArgs,
    offsite: OffsiteTarget | undefined,
  ): PodParts {
    const scripts = new k8s.core.v1.ConfigMap(
      `${name}-scripts`,
      {
        metadata: meta,
        data: {
          ...Object.fromEntries(backupScriptFiles.map((f) => [f.name, f.text])),
          ...(offsite?.caBundle ? { "offsite-ca.crt": offsite.caBundle } : {}),
        },
      },
      { parent: this },
    );
    const key = new k8s.core.v1.Secret(
      `${name}-verify-key`,
      {
        metadata: meta,
        type: "Opaque",
        stringData: { "identity.txt": pulumi.secret(args.verifyIdentity) },
      },
      { parent: this },
    );
    const pvc = new k8s.core.v1.PersistentVolumeClaim(
      `${name}-volume`,
      {
        metadata: meta,
        spec: {
          accessModes: ["ReadWriteOnce"],
          storageClassName: args.storageClass,
          resources: { requests: { storage: args.storage } },
        },
      },
      { parent: this },
    );
    const sa = new k8s.core.v1.ServiceAccount(
      name,
      { metadata: meta, automountServiceAccountToken: false },
      { parent: this },
    );
    return {
      image: args.image ?? ownImages.postgresBackup.prebuilt,
      serviceAccount: sa.metadata.name,
      scripts: scripts.metadata.name,
      volume: pvc.metadata.name,
      key: key.metadata.name,
    };
  }

  /** A scheduled backup or verification: one Job at a time, a deadline, a week of history. */
  private cronJob(
    ctx: JobContext,
    suffix: string,
    schedule: string,
    script: ShellScript<EnvContract>,
    env: k8s.types.input.core.v1.EnvVar[],
    withKey: boolean,
  ): k8s.batch.v1.CronJob {
    return new k8s.batch.v1.CronJob(
      `${ctx.name}-${suffix}`,
      {
        metadata: ctx.meta,
        spec: {
          schedule,
          concurrencyPolicy: "Forbid",
          startingDeadlineSeconds: 600,
          successfulJobsHistoryLimit: 3,
          failedJobsHistoryLimit: 3,
          jobTemplate: {
            spec: {
              backoffLimit: 1,
              ttlSecondsAfterFinished: 7 * 86400,
              activeDeadlineSeconds: 3 * 3600,
              template: {
                metadata: { labels: ctx.meta.labels },
                spec: backupPod(ctx.pod, suffix, script, env, withKey),
              },
            },
          },
        },
      },
      { parent: this },
    );
  }

  /**
   * A pre-migration backup: the same script, one database, their own directory (the nightly
   * retention and verification only look at timestamped directories directly under /backups),
   * and their own off-site prefix.
   */
  private preMigrationJob(
    ctx: JobContext,
    p: PreMigrationBackup,
    server: pulumi.Resource | undefined,
    env: k8s.types.input.core.v1.EnvVar[],
  ): k8s.batch.v1.Job {
    return new k8s.batch.v1.Job(
      `${ctx.name}-pre-${p.service}`,
      {
        metadata: ctx.meta,
        spec: {
          backoffLimit: 1,
          ttlSecondsAfterFinished: 86400,
          activeDeadlineSeconds: PRE_MIGRATION_DEADLINE_SECONDS,
          template: {
            // The rollout is part of the (immutable) pod template, so a new rollout replaces the
            // Job and takes a new backup; an unchanged one keeps the finished Job.
            metadata: {
              labels: ctx.meta.labels,
              annotations: { "auditflow.dev/rollout": p.rollout },
            },
            spec: backupPod(ctx.pod, "pre-migration", backupScript, env, false),
          },
        },
      },
      {
        parent: this,
        dependsOn: server ? [server] : [],
        // Pulumi waits a minute past the Kubernetes deadline, so it reports Kubernetes' reason.
        customTimeouts: {
          create: `${PRE_MIGRATION_DEADLINE_SECONDS + 60}s`,
          update: `${PRE_MIGRATION_DEADLINE_SECONDS + 60}s`,
        },
      },
    );
  }

  /** The backup pods may reach PostgreSQL and the off-site store's addresses, nothing else. */
  private networkPolicy(
    name: string,
    meta: ObjectMeta,
    postgres: PostgresBackupArgs["postgres"],
    offsite: OffsiteTarget | undefined,
  ): void {
    new k8s.networking.v1.NetworkPolicy(
      name,
      {
        metadata: meta,
        spec: {
          podSelector: { matchLabels: PostgresBackup.peer(name).podLabels },
          policyTypes: ["Ingress", "Egress"],
          egress: [
            {
              to: [{ podSelector: { matchLabels: postgres.peer.podLabels ?? {} } }],
              ports: [{ protocol: "TCP", port: postgres.port }],
            },
            ...(offsite
              ? [
                  {
                    to: offsite.egressCidrs.map((cidr) => ({ ipBlock: { cidr } })),
                    ports: [{ protocol: "TCP", port: offsite.port }],
                  },
                ]
              : []),
          ],
        },
      },
      { parent: this },
    );
  }

  /** The OFFSITE_* variables of both jobs, the secret key from a Secret of its own. */
  private offsiteEnv(
    name: string,
    meta: ObjectMeta,
    o: OffsiteTarget,
  ): EnvValues<typeof OFFSITE_ENV, ContainerEnvValue> {
    const credentials = new k8s.core.v1.Secret(
      `${name}-offsite`,
      {
        metadata: meta,
        type: "Opaque",
        stringData: pulumi.secret({
          "access-key-id": o.accessKeyId,
          "secret-access-key": o.secretAccessKey,
        }),
      },
      { parent: this },
    );
    const fromSecret = (key: string) => ({
      valueFrom: { secretKeyRef: { name: credentials.metadata.name, key } },
    });
    return {
      OFFSITE_URL: o.url,
      OFFSITE_REGION: o.region ?? "us-east-1",
      OFFSITE_ACCESS_KEY_ID: fromSecret("access-key-id"),
      OFFSITE_SECRET_ACCESS_KEY: fromSecret("secret-access-key"),
      ...(o.caBundle ? { OFFSITE_CA_FILE: "/scripts/offsite-ca.crt" } : {}),
    };
  }
}
