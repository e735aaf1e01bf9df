/**
 * The backup and verification scripts against a real PostgreSQL: a seeded database is dumped,
 * encrypted with age and verified by restoring it; a tampered or truncated backup and a wrong key
 * make verification fail with a clear message. Every outcome is recorded in PostgreSQL, and the
 * real postgres-exporter (Debian's package), loading exactly the generated custom queries and
 * logging in as the monitoring role the generated init script creates, publishes it as
 * auditflow_backup_verify_success and auditflow_backup_verify_timestamp_seconds.
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { exporterQueries } from "../../components/data/postgres-config";
import {
  BackupPostgres,
  freePort,
  PostgresExporter,
  requireBinary,
  startBackupPostgres,
  startPostgresExporter,
} from "./servers";

requireBinary("/usr/bin/age", "age");
let pg: BackupPostgres | undefined;
let exporter: PostgresExporter | undefined;
/** A wrong key whose path holds both kinds of quote: it lands in the recorded failure message. */
let otherKey: string;
let dir: string;
let recipient: string;

const run = (script: string, extra: NodeJS.ProcessEnv = {}) => pg!.runScript(script, extra);

const newest = () =>
  fs
    .readdirSync(path.join(dir, "backups"))
    .filter((d) => /^\d{8}T\d{6}Z$/.test(d))
    .sort()
    .pop()!;

/** The value of a metric in one scrape (any labels), or undefined when it is absent. */
async function metric(name: string): Promise<number | undefined> {
  const m = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, "m").exec(await exporter!.scrape());
  return m ? Number(m[1]) : undefined;
}

beforeAll(async () => {
  pg = await startBackupPostgres("backup-conformance-");
  dir = pg.dir;
  // The operator's key pair: only the public half is given to the backup job.
  recipient = pg.newKey(path.join(dir, "key.txt"));
  otherKey = path.join(dir, `other 'key".txt`);
  pg.newKey(otherKey);
  for (const db of ["audit_log_analysis", "event_audit_dashboard"]) pg.seed(db, 1000);
  pg.writeScripts();
  exporter = await startPostgresExporter({ dir, dsn: pg.monitorDsn, queries: exporterQueries() });
}, 90_000);

afterAll(async () => {
  await exporter?.stop();
  await pg?.stop();
}, 40_000);

const backupEnv = () => ({
  BACKUP_DATABASES: "audit_log_analysis event_audit_dashboard",
  BACKUP_RECIPIENTS: recipient,
});

test("before the first verification the exporter loads the queries and scrapes without error, with no backup metric", async () => {
  expect(pg!.lastVerification()).toBeUndefined();
  const text = await exporter!.scrape();
  expect(text).toMatch(/^pg_up(\{[^}]*\})? 1$/m);
  expect(text).toMatch(/^pg_exporter_user_queries_load_error\{[^}]*\} 0$/m);
  expect(text).toMatch(/^pg_exporter_last_scrape_error 0$/m);
  expect(text).not.toMatch(/^auditflow_backup_verify/m);
});

test("a backup dumps, encrypts and describes every database; verification restores it", async () => {
  const b = run(path.join(dir, "backup.sh"), backupEnv());
  expect(b.out).toMatch(
    /backup \d{8}T\d{6}Z: audit_log_analysis.dump.age backup.info event_audit_dashboard.dump.age files.sha256 rows.txt/,
  );
  expect(b.code).toBe(0);
  const files = fs.readdirSync(path.join(dir, "backups", newest()));
  expect(files.some((f) => f.endsWith(".dump"))).toBe(false); // no clear dump left behind
  const encrypted = fs.readFileSync(
    path.join(dir, "backups", newest(), "audit_log_analysis.dump.age"),
  );
  expect(encrypted.subarray(0, 21).toString()).toBe("age-encryption.org/v1");
  expect(fs.readFileSync(path.join(dir, "backups", newest(), "rows.txt"), "utf8")).toMatch(
    /audit_log_analysis\.public\.audit_event 1000/,
  );
  const v = run(path.join(dir, "verify.sh"), { AGE_IDENTITY_FILE: path.join(dir, "key.txt") });
  expect(v.out).toMatch(
    /verified: checksums match, every database restores with the recorded row counts/,
  );
  expect(v.code).toBe(0);
  expect(pg!.lastVerification()).toMatchObject({
    success: true,
    backup: newest(),
    message: v.out.trim(),
  });
  // What Prometheus scrapes: the outcome and when it was reached.
  expect(await metric("auditflow_backup_verify_success")).toBe(1);
  const at = (await metric("auditflow_backup_verify_timestamp_seconds"))!;
  expect(Math.abs(at - Date.now() / 1000)).toBeLessThan(60);
  expect(await metric("pg_exporter_last_scrape_error")).toBe(0);
});

test("a wrong key fails verification, says so, and the exporter reports the failure", async () => {
  const before = pg!.lastVerification()!.finishedAt;
  const v = run(path.join(dir, "verify.sh"), { AGE_IDENTITY_FILE: otherKey });
  expect(v.code).toBe(1);
  expect(v.out).toMatch(
    /backup verification FAILED: .*audit_log_analysis.dump.age cannot be decrypted with .*other 'key".txt/,
  );
  const row = pg!.lastVerification()!;
  expect(row.success).toBe(false);
  expect(row.backup).toBe(newest());
  // The quotes in the key's path reach the record verbatim.
  expect(row.message).toContain(
    `audit_log_analysis.dump.age cannot be decrypted with ${otherKey}: `,
  );
  expect(row.finishedAt).toBeGreaterThan(before);
  expect(await metric("auditflow_backup_verify_success")).toBe(0);
  expect(await metric("auditflow_backup_verify_timestamp_seconds")).toBeCloseTo(row.finishedAt, 0);
});

test("an unexpected error (a command failing under set -e) is recorded as a failure", () => {
  const d = path.join(dir, "backups", newest());
  const info = fs.readFileSync(path.join(d, "backup.info"), "utf8");
  const manifest = fs.readFileSync(path.join(d, "files.sha256"), "utf8");
  // A backup.info without its database list, with a matching checksum: `$databases` is unset.
  fs.writeFileSync(path.join(d, "backup.info"), info.replace(/^databases=.*\n/m, ""));
  execFileSync("sh", [
    "-c",
    `cd '${d}' && sha256sum -- *.dump.age rows.txt backup.info > files.sha256`,
  ]);
  const v = run(path.join(dir, "verify.sh"), { AGE_IDENTITY_FILE: path.join(dir, "key.txt") });
  fs.writeFileSync(path.join(d, "backup.info"), info);
  fs.writeFileSync(path.join(d, "files.sha256"), manifest);
  expect(v.code).toBe(1);
  expect(v.out).toMatch(/databases: parameter not set/);
  expect(pg!.lastVerification()).toMatchObject({
    success: false,
    message: "stopped by an unexpected error (the job log has it)",
  });
});

test("if PostgreSQL is unreachable the job still fails with its own message; the record goes stale", async () => {
  const before = pg!.lastVerification()!;
  const closed = await freePort();
  const v = run(path.join(dir, "verify.sh"), {
    AGE_IDENTITY_FILE: path.join(dir, "key.txt"),
    PGHOST: "127.0.0.1",
    PGPORT: String(closed),
  });
  expect(v.code).toBe(1);
  expect(v.out).toMatch(
    /backup verification FAILED: \d{8}T\d{6}Z: cannot create the scratch database verify_audit_log_analysis_\d+: .*Connection refused/,
  );
  expect(v.out).toMatch(/the outcome could not be recorded in PostgreSQL: .*Connection refused/);
  expect(pg!.lastVerification()).toEqual(before);
});

test("a truncated backup fails verification", () => {
  const file = path.join(dir, "backups", newest(), "event_audit_dashboard.dump.age");
  const saved = fs.readFileSync(file);
  fs.writeFileSync(file, saved.subarray(0, Math.floor(saved.length / 2)));
  const v = run(path.join(dir, "verify.sh"), { AGE_IDENTITY_FILE: path.join(dir, "key.txt") });
  fs.writeFileSync(file, saved);
  expect(v.code).toBe(1);
  expect(v.out).toMatch(/does not match its checksum in files.sha256 \(tampered or truncated\)/);
});

test("a tampered backup whose checksum was rewritten still fails: it no longer decrypts", () => {
  const d = path.join(dir, "backups", newest());
  const file = path.join(d, "audit_log_analysis.dump.age");
  const saved = fs.readFileSync(file);
  const manifest = fs.readFileSync(path.join(d, "files.sha256"), "utf8");
  const bad = Buffer.from(saved);
  bad[bad.length - 10] = bad[bad.length - 10]! ^ 0xff;
  fs.writeFileSync(file, bad);
  execFileSync("sh", ["-c", `cd '${d}' && sha256sum -- *.dump.age > files.sha256`]);
  const v = run(path.join(dir, "verify.sh"), { AGE_IDENTITY_FILE: path.join(dir, "key.txt") });
  fs.writeFileSync(file, saved);
  fs.writeFileSync(path.join(d, "files.sha256"), manifest);
  expect(v.code).toBe(1);
  expect(v.out).toMatch(/cannot be decrypted/);
});

test("only the newest BACKUP_KEEP backups are kept", async () => {
  for (let i = 0; i < 2; i++) {
    await new Promise((r) => setTimeout(r, 1100)); // backups are named by the second
    expect(run(path.join(dir, "backup.sh"), backupEnv()).code).toBe(0);
  }
  const all = fs.readdirSync(path.join(dir, "backups")).filter((d) => /^\d{8}T\d{6}Z$/.test(d));
  expect(all).toHaveLength(2);
}, 30_000);
