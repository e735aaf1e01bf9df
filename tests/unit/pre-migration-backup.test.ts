import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import {
  PostgresBackup,
  PostgresBackupArgs,
  PRE_MIGRATION_DEADLINE_SECONDS,
} from "../../components/data/postgres-backup";
import { backupScript } from "../../components/data/backup-scripts";
import {
  BACKUP_RECIPIENT,
  backupArgs,
  expectRejectedBeforeCreating,
  runComponent,
  RecordedResource,
} from "../helpers/program";

const recipient = BACKUP_RECIPIENT;
const IMAGE = "ghcr.io/auditflow/audit-log-analysis@sha256:" + "a".repeat(64);

/** The backup fixture with two databases and a pre-migration backup of audit-log-analysis. */
function args(over: Partial<PostgresBackupArgs> = {}): PostgresBackupArgs {
  return backupArgs({
    databases: ["audit_log_analysis", "event_audit_dashboard"],
    preMigration: [
      { service: "audit-log-analysis", database: "audit_log_analysis", rollout: IMAGE },
    ],
    ...over,
  });
}

const jobs = (rs: RecordedResource[]) => rs.filter((r) => r.type === "kubernetes:batch/v1:Job");
const template = (r: RecordedResource) => (r.inputs.spec as any).template;
const env = (r: RecordedResource) =>
  Object.fromEntries(
    template(r).spec.containers[0].env.map((e: any) => [e.name, e.value ?? e.valueFrom]),
  );

describe("pre-migration backups", () => {
  let rs: RecordedResource[];
  beforeAll(async () => {
    rs = await runComponent(() => new PostgresBackup("postgres-backup", args()));
  });

  test("one Job per migrated service runs the backup script on its database alone, in its own directory", () => {
    const [job, ...others] = jobs(rs);
    expect(others).toEqual([]);
    expect(job!.name).toBe("postgres-backup-pre-audit-log-analysis");
    expect(template(job!).spec.containers[0].command).toEqual([
      "sh",
      `/scripts/${backupScript.name}`,
    ]);
    expect(env(job!)).toMatchObject({
      BACKUP_DATABASES: "audit_log_analysis",
      BACKUP_DIR: "/backups/pre-migration/audit-log-analysis",
      BACKUP_KEEP: "3",
      BACKUP_RECIPIENTS: recipient,
      PGUSER: "postgres",
    });
    expect(env(job!).OFFSITE_URL).toBeUndefined();
  });

  test("its pods carry the backup pods' labels, so the backup NetworkPolicy and PostgreSQL admit them", () => {
    const cron = rs.find((r) => r.name === "postgres-backup-backup")!;
    const cronLabels = (cron.inputs.spec as any).jobTemplate.spec.template.metadata.labels;
    expect(template(jobs(rs)[0]!).metadata.labels).toEqual(cronLabels);
    expect(template(jobs(rs)[0]!).spec.volumes.map((v: any) => v.name)).toEqual([
      "tmp",
      "scripts",
      "backups",
    ]);
  });

  test("a new rollout changes the Job's pod template (Pulumi replaces the Job: a new backup); the same rollout does not", async () => {
    const again = await runComponent(() => new PostgresBackup("postgres-backup", args()));
    expect(template(jobs(again)[0]!)).toEqual(template(jobs(rs)[0]!));
    const next = IMAGE.replace(/a{64}$/, "b".repeat(64));
    const rolled = await runComponent(
      () =>
        new PostgresBackup(
          "postgres-backup",
          args({
            preMigration: [
              { service: "audit-log-analysis", database: "audit_log_analysis", rollout: next },
            ],
          }),
        ),
    );
    const t = template(jobs(rolled)[0]!);
    expect(t.metadata.annotations).toEqual({ "auditflow.dev/rollout": next });
    expect({ ...t, metadata: {} }).toEqual({ ...template(jobs(rs)[0]!), metadata: {} });
  });

  test("with an off-site store, the copy goes under its own pre-migration prefix", async () => {
    const withOffsite = await runComponent(
      () =>
        new PostgresBackup(
          "postgres-backup",
          args({
            offsite: {
              endpoint: "https://192.168.50.30:9000",
              bucket: "auditflow-backups",
              prefix: "auditflow/prod",
              accessKeyId: "auditflow",
              secretAccessKey: pulumi.secret("s3cr3t"),
              egressCidrs: ["192.168.50.30/32"],
            },
          }),
        ),
    );
    expect(env(jobs(withOffsite)[0]!).OFFSITE_URL).toBe(
      "https://192.168.50.30:9000/auditflow-backups/auditflow/prod/pre-migration/audit-log-analysis",
    );
  });

  test("Pulumi waits for the Job a minute past its deadline, after the server", async () => {
    const seen: Record<string, unknown> = {};
    await runComponent(() => {
      // Resource options never reach the mocks; a stack transformation sees them.
      pulumi.runtime.registerStackTransformation((t) => {
        if (t.type === "kubernetes:batch/v1:Job")
          seen[t.name] = { timeouts: t.opts.customTimeouts, dependsOn: t.opts.dependsOn };
        return undefined;
      });
      const server = new k8s.core.v1.ConfigMap("server", { metadata: { namespace: "data" } });
      new PostgresBackup("postgres-backup", args({ postgres: { ...args().postgres, server } }));
    });
    const wait = `${PRE_MIGRATION_DEADLINE_SECONDS + 60}s`;
    const job = seen["postgres-backup-pre-audit-log-analysis"] as any;
    expect(job.timeouts).toEqual({ create: wait, update: wait });
    expect(job.dependsOn).toHaveLength(1);
  });

  test("rejects a database it does not back up and a bad service name before creating anything", async () => {
    await expectRejectedBeforeCreating(
      () =>
        new PostgresBackup(
          "b",
          args({
            preMigration: [{ service: "notification-service", database: "notify", rollout: IMAGE }],
          }),
        ),
      /preMigration database "notify" of notification-service is not one of databases \(audit_log_analysis, event_audit_dashboard\)/,
    );
    await expectRejectedBeforeCreating(
      () =>
        new PostgresBackup(
          "b",
          args({
            preMigration: [
              { service: "Audit_Log", database: "audit_log_analysis", rollout: IMAGE },
            ],
          }),
        ),
      /preMigration service "Audit_Log" must be a DNS-1123 label/,
    );
  });
});
