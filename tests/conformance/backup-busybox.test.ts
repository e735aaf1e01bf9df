/**
 * The backup image is Alpine-based: its shell and every helper the scripts call (sha256sum, awk,
 * sed, grep, cmp, date, ...) are BusyBox, not GNU. Here the generated scripts run under BusyBox's
 * sh with a PATH that holds only BusyBox applets plus the real binaries the image adds (the
 * PostgreSQL client tools, age and curl), through a whole cycle with the off-site copy: a backup,
 * its verification, and a damaged dump that verification must catch.
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import {
  BackupPostgres,
  requireBinary,
  runAs,
  S3Store,
  startBackupPostgres,
  startS3Store,
} from "./servers";

const BUSYBOX = requireBinary("/usr/bin/busybox", "busybox");
/** What the backup image holds besides BusyBox. */
const IMAGE_BINARIES = ["psql", "pg_dump", "pg_restore", "age", "curl"];

let pg: BackupPostgres | undefined;
let s3: S3Store | undefined;
let dir: string;
let recipient: string;
let env: NodeJS.ProcessEnv;

/** A directory of links standing for the image's PATH: BusyBox applets and IMAGE_BINARIES only. */
function imagePath(root: string, pgBin: string): string {
  const bin = path.join(root, "image-bin");
  fs.mkdirSync(bin);
  const applets = execFileSync(BUSYBOX, ["--list"], { encoding: "utf8" })
    .split("\n")
    .filter(Boolean);
  for (const applet of applets) fs.symlinkSync(BUSYBOX, path.join(bin, applet));
  for (const tool of IMAGE_BINARIES) {
    const real = ["psql", "pg_dump", "pg_restore"].includes(tool)
      ? path.join(pgBin, tool)
      : requireBinary(`/usr/bin/${tool}`, tool);
    fs.symlinkSync(real, path.join(bin, tool));
  }
  return bin;
}

let scripts: { backup: string; verify: string };
const run = (script: string, extra: NodeJS.ProcessEnv) =>
  pg!.runScript(script, { ...env, ...extra }, [BUSYBOX, "sh"]);

beforeAll(async () => {
  pg = await startBackupPostgres("backup-busybox-");
  dir = pg.dir;
  s3 = await startS3Store("s3-busybox-", {
    accessKeyId: "auditflow-busybox",
    secretAccessKey: 'busybox-Secret+key/"quoted"\\back',
  });
  s3.createBucket("auditflow-backups");
  recipient = pg.newKey(path.join(dir, "key.txt"));
  pg.seed("audit_log_analysis", 300);
  scripts = pg.writeScripts();
  env = {
    ...pg.env,
    PATH: imagePath(dir, pg.bin),
    OFFSITE_URL: `${s3.endpoint}/auditflow-backups/auditflow/busybox`,
    OFFSITE_ACCESS_KEY_ID: s3.accessKeyId,
    OFFSITE_SECRET_ACCESS_KEY: s3.secretAccessKey,
  };
}, 90_000);

afterAll(async () => {
  await s3?.stop();
  await pg?.stop();
}, 40_000);

test("the image's PATH has BusyBox's tools, not GNU's", () => {
  const out = runAs(
    "postgres",
    BUSYBOX,
    ["sh", "-c", 'sha256sum --help 2>&1; readlink "$(command -v awk)"'],
    {
      env,
    },
  );
  expect(out).toMatch(/BusyBox/);
  expect(out).toContain(BUSYBOX);
});

test("under BusyBox a backup is dumped, encrypted, copied off-site and verified", () => {
  const b = run(scripts.backup, {
    BACKUP_DATABASES: "audit_log_analysis",
    BACKUP_RECIPIENTS: recipient,
  });
  expect(b.out).toMatch(
    /backup \d{8}T\d{6}Z: audit_log_analysis\.dump\.age backup\.info files\.sha256 rows\.txt/,
  );
  expect(b.out).toMatch(/copied off-site to /);
  expect(b.code).toBe(0);
  const v = run(scripts.verify, { AGE_IDENTITY_FILE: path.join(dir, "key.txt") });
  expect(v.out).toMatch(
    /verified: checksums match, every database restores with the recorded row counts; the off-site copy matches/,
  );
  expect(v.code).toBe(0);
  expect(pg!.lastVerification()).toMatchObject({ success: true });
});

test("under BusyBox a truncated dump fails verification and is recorded as a failure", () => {
  const stamp = fs
    .readdirSync(path.join(dir, "backups"))
    .filter((d) => /^\d{8}T\d{6}Z$/.test(d))
    .sort()
    .pop()!;
  const file = path.join(dir, "backups", stamp, "audit_log_analysis.dump.age");
  const saved = fs.readFileSync(file);
  fs.writeFileSync(file, saved.subarray(0, saved.length - 64));
  const v = run(scripts.verify, { AGE_IDENTITY_FILE: path.join(dir, "key.txt") });
  fs.writeFileSync(file, saved);
  expect(v.code).toBe(1);
  expect(v.out).toMatch(/does not match its checksum in files\.sha256 \(tampered or truncated\)/);
  expect(pg!.lastVerification()).toMatchObject({ success: false });
});
