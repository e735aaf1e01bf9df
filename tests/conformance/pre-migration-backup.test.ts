/**
 * The pre-migration backup Job of audit-log-analysis, run for real: backup.sh with the environment
 * the dev stack renders for the Job, against a real PostgreSQL. Only what cannot be the same
 * outside the cluster changes: the server's address (its Unix socket here), the backup volume's
 * mount point (a temporary directory stands for /backups) and the recipients (a key generated
 * here, since the stack's recovery key has no private half in the repository).
 */
import * as fs from "fs";
import * as path from "path";
import { only, planStack } from "../helpers/program";
import { BackupPostgres, requireBinary, startBackupPostgres } from "./servers";

requireBinary("/usr/bin/age", "age");
const SERVICE = "audit-log-analysis";
const STAMP = /^\d{8}T\d{6}Z$/;

let pg: BackupPostgres | undefined;
let dir: string;
let recipient: string;
/** The Job's plain environment as the dev stack renders it (Secret references left out). */
let rendered: Record<string, string>;
let script: string;

/** The Job's environment, with the mount point and server address made local. */
function jobEnv(): NodeJS.ProcessEnv {
  const local = (v: string) => v.replace(/^\/backups/, path.join(dir, "backups"));
  return {
    ...Object.fromEntries(Object.entries(rendered).map(([k, v]) => [k, local(v)])),
    PGHOST: pg!.env.PGHOST,
    PGPORT: pg!.env.PGPORT,
    BACKUP_RECIPIENTS: recipient,
  };
}

const stamps = (d: string) =>
  fs.existsSync(d)
    ? fs
        .readdirSync(d)
        .filter((x) => STAMP.test(x))
        .sort()
    : [];
const preDir = () => path.join(dir, "backups", "pre-migration", SERVICE);
/** backup.sh names a backup by the second it started: runs must be a second apart. */
const nextSecond = () => new Promise((r) => setTimeout(r, 1100));

beforeAll(async () => {
  const job = only(
    (await planStack("dev")).resources,
    "kubernetes:batch/v1:Job",
    `postgres-backup-pre-${SERVICE}`,
  );
  const c = (job.inputs.spec as any).template.spec.containers[0];
  rendered = Object.fromEntries(
    (c.env as any[]).filter((e) => typeof e.value === "string").map((e) => [e.name, e.value]),
  );
  pg = await startBackupPostgres("pre-migration-conformance-");
  dir = pg.dir;
  recipient = pg.newKey(path.join(dir, "key.txt"));
  for (const db of ["audit_log_analysis", "event_audit_dashboard"]) pg.seed(db, 500);
  const scripts = pg.writeScripts();
  // The Job runs `sh /scripts/backup.sh`; the scripts sit side by side as in the ConfigMap.
  expect(c.command).toEqual(["sh", "/scripts/backup.sh"]);
  script = scripts.backup;
}, 120_000);

afterAll(async () => {
  await pg?.stop();
}, 40_000);

test("the Job backs up the service's database alone into its own directory, and it restores", () => {
  expect(rendered).toMatchObject({
    BACKUP_DATABASES: "audit_log_analysis",
    BACKUP_DIR: `/backups/pre-migration/${SERVICE}`,
  });
  const r = pg!.runScript(script, jobEnv());
  expect(r.out).toMatch(
    /backup \d{8}T\d{6}Z: audit_log_analysis.dump.age backup.info files.sha256 rows.txt/,
  );
  expect(r.code).toBe(0);
  const [stamp] = stamps(preDir());
  expect(fs.readFileSync(path.join(preDir(), stamp!, "rows.txt"), "utf8")).toMatch(
    /^audit_log_analysis\.public\.audit_event 500$/m,
  );
  // The verification script, pointed at the pre-migration directory, restores it.
  const v = pg!.runScript(path.join(dir, "verify.sh"), {
    ...jobEnv(),
    AGE_IDENTITY_FILE: path.join(dir, "key.txt"),
  });
  expect(v.out).toMatch(/verified: checksums match, every database restores/);
  expect(v.code).toBe(0);
});

test("pre-migration retention keeps the newest 3 and never touches the nightly backups", async () => {
  // A nightly backup as the CronJob writes it, directly under /backups.
  const nightly = pg!.runScript(script, {
    BACKUP_DATABASES: "audit_log_analysis event_audit_dashboard",
    BACKUP_RECIPIENTS: recipient,
  });
  expect(nightly.code).toBe(0);
  const nightlyStamps = stamps(path.join(dir, "backups"));
  expect(nightlyStamps).toHaveLength(1);
  for (let i = 0; i < 3; i++) {
    await nextSecond();
    expect(pg!.runScript(script, jobEnv()).code).toBe(0);
  }
  expect(stamps(preDir())).toHaveLength(3);
  expect(stamps(path.join(dir, "backups"))).toEqual(nightlyStamps);
  // The nightly verification still picks the nightly backup, not a pre-migration one.
  const v = pg!.runScript(path.join(dir, "verify.sh"), {
    AGE_IDENTITY_FILE: path.join(dir, "key.txt"),
  });
  expect(v.code).toBe(0);
  expect(pg!.lastVerification()!.backup).toBe(nightlyStamps[0]);
}, 60_000);

test("a backup that cannot dump fails the Job (exit non-zero) and leaves no backup behind", async () => {
  await nextSecond();
  const before = stamps(preDir());
  pg!.psql("postgres", "alter database audit_log_analysis with allow_connections false");
  try {
    const r = pg!.runScript(script, jobEnv());
    expect(r.code).not.toBe(0);
    expect(r.out).toMatch(
      /audit_log_analysis.*(not currently accepting connections|does not allow connections)/,
    );
  } finally {
    pg!.psql("postgres", "alter database audit_log_analysis with allow_connections true");
  }
  expect(stamps(preDir())).toEqual(before);
});
