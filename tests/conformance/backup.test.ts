/**
 * The backup and verification scripts against a real PostgreSQL: a seeded database is dumped,
 * encrypted with age and verified by restoring it; a tampered or truncated backup and a wrong key
 * make verification fail with a clear message.
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { backupScript, verifyScript } from "../../components/data/backup-scripts";
import { BackupPostgres, requireBinary, runAs, startBackupPostgres, writeFor } from "./servers";

requireBinary("/usr/bin/age", "age");
let pg: BackupPostgres | undefined;
let dir: string;
let env: NodeJS.ProcessEnv;
let recipient: string;

function run(script: string, extra: NodeJS.ProcessEnv = {}): { code: number; out: string } {
  try {
    const out = runAs("postgres", "sh", [script], { env: { ...env, ...extra } });
    return { code: 0, out };
  } catch (e) {
    const err = e as { status: number; stdout: string; stderr: string };
    return { code: err.status, out: `${err.stdout}${err.stderr}` };
  }
}

const newest = () =>
  fs
    .readdirSync(path.join(dir, "backups"))
    .filter((d) => /^\d{8}T\d{6}Z$/.test(d))
    .sort()
    .pop()!;

beforeAll(async () => {
  pg = await startBackupPostgres("backup-conformance-");
  dir = pg.dir;
  env = pg.env;
  // The operator's key pair: only the public half is given to the backup job.
  recipient = pg.newKey(path.join(dir, "key.txt"));
  pg.newKey(path.join(dir, "other-key.txt"));
  for (const db of ["audit_log_analysis", "event_audit_dashboard"]) {
    pg.psql("postgres", `create database ${db}`);
    pg.psql(db, "create table audit_event (id serial primary key, actor text, body jsonb)");
    pg.psql(
      db,
      "insert into audit_event (actor, body) select 'user' || g, jsonb_build_object('n', g) from generate_series(1, 1000) g",
    );
  }
  writeFor("postgres", path.join(dir, "backup.sh"), backupScript(), 0o700);
  writeFor("postgres", path.join(dir, "verify.sh"), verifyScript(), 0o700);
}, 90_000);

afterAll(async () => {
  await pg?.stop();
}, 40_000);

const backupEnv = () => ({
  BACKUP_DATABASES: "audit_log_analysis event_audit_dashboard",
  BACKUP_RECIPIENTS: recipient,
});

test("a backup dumps, encrypts and describes every database; verification restores it", () => {
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
  const v = run(path.join(dir, "verify.sh"), {
    AGE_IDENTITY_FILE: path.join(dir, "key.txt"),
    METRICS_FILE: path.join(dir, "verify.prom"),
  });
  expect(v.out).toMatch(
    /verified: checksums match, every database restores with the recorded row counts/,
  );
  expect(v.code).toBe(0);
  expect(fs.readFileSync(path.join(dir, "verify.prom"), "utf8")).toMatch(
    /auditflow_backup_verify_success 1/,
  );
});

test("a wrong key fails verification and says so", () => {
  const v = run(path.join(dir, "verify.sh"), {
    AGE_IDENTITY_FILE: path.join(dir, "other-key.txt"),
    METRICS_FILE: path.join(dir, "verify.prom"),
  });
  expect(v.code).toBe(1);
  expect(v.out).toMatch(
    /backup verification FAILED: .*audit_log_analysis.dump.age cannot be decrypted with .*other-key.txt/,
  );
  expect(fs.readFileSync(path.join(dir, "verify.prom"), "utf8")).toMatch(
    /auditflow_backup_verify_success 0/,
  );
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
