/**
 * The off-site copy of the backup and verification scripts against a real S3-compatible server
 * (Versity S3 Gateway, which checks SigV4 signatures and payload hashes) and a real PostgreSQL:
 * every file of a backup lands in the bucket byte for byte, the verification checks the remote copy,
 * and a damaged remote file, a wrong secret key or an unreachable store fail with a clear message
 * while the local backup stays complete. The secret key contains a quote and a backslash on purpose
 * (curl reads it from a config on standard input, where both must be escaped).
 */
import * as fs from "fs";
import * as path from "path";
import {
  BackupPostgres,
  freePort,
  requireBinary,
  S3Store,
  startBackupPostgres,
  startS3Store,
} from "./servers";

requireBinary("/usr/bin/age", "age");
requireBinary("/usr/bin/curl", "curl");
const SECRET = 'offsite-Secret/"quoted"\\back+slash';
const BUCKET = "auditflow-backups";
const PREFIX = "auditflow/conformance";

let pg: BackupPostgres | undefined;
let s3: S3Store | undefined;
let dir: string;
let recipient: string;

let scripts: { backup: string; verify: string };

const offsiteEnv = (over: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({
  OFFSITE_URL: `${s3!.endpoint}/${BUCKET}/${PREFIX}`,
  OFFSITE_REGION: "us-east-1",
  OFFSITE_ACCESS_KEY_ID: s3!.accessKeyId,
  OFFSITE_SECRET_ACCESS_KEY: SECRET,
  ...over,
});
const backup = (over: NodeJS.ProcessEnv = {}) =>
  pg!.runScript(scripts.backup, {
    BACKUP_DATABASES: "audit_log_analysis",
    BACKUP_RECIPIENTS: recipient,
    ...offsiteEnv(over),
  });
const verify = (over: NodeJS.ProcessEnv = {}) =>
  pg!.runScript(scripts.verify, {
    AGE_IDENTITY_FILE: path.join(dir, "key.txt"),
    ...offsiteEnv(over),
  });
const backups = () =>
  fs
    .readdirSync(path.join(dir, "backups"))
    .filter((d) => /^\d{8}T\d{6}Z$/.test(d))
    .sort();
const remote = (stamp: string, file = "") => path.join(s3!.root, BUCKET, PREFIX, stamp, file);

beforeAll(async () => {
  pg = await startBackupPostgres("backup-offsite-");
  dir = pg.dir;
  s3 = await startS3Store("s3-offsite-", {
    accessKeyId: "auditflow-conformance",
    secretAccessKey: SECRET,
  });
  s3.createBucket(BUCKET);
  recipient = pg.newKey(path.join(dir, "key.txt"));
  pg.seed("audit_log_analysis", 500);
  scripts = pg.writeScripts();
}, 90_000);

afterAll(async () => {
  await s3?.stop();
  await pg?.stop();
}, 40_000);

test("every file of a backup lands in the bucket byte for byte, the manifest included", () => {
  const b = backup();
  expect(b.out).toMatch(/copied off-site to http:\/\/127\.0\.0\.1:\d+\/auditflow-backups\//);
  expect(b.code).toBe(0);
  const stamp = backups().pop()!;
  const local = fs.readdirSync(path.join(dir, "backups", stamp)).sort();
  expect(local).toEqual(["audit_log_analysis.dump.age", "backup.info", "files.sha256", "rows.txt"]);
  for (const f of local) {
    expect(fs.readFileSync(remote(stamp, f))).toEqual(
      fs.readFileSync(path.join(dir, "backups", stamp, f)),
    );
  }
  expect(b.out).not.toContain(SECRET);
});

test("the verification checks the remote copy as well as the local one", () => {
  const v = verify();
  expect(v.out).toMatch(/verified: checksums match, .*; the off-site copy matches/);
  expect(v.code).toBe(0);
  expect(pg!.lastVerification()).toMatchObject({
    success: true,
    message: expect.stringMatching(/; the off-site copy matches$/),
  });
});

test("a damaged remote copy fails the verification", () => {
  const file = remote(backups().pop()!, "audit_log_analysis.dump.age");
  const saved = fs.readFileSync(file);
  fs.writeFileSync(file, saved.subarray(0, saved.length - 100));
  const v = verify();
  fs.writeFileSync(file, saved);
  expect(v.code).toBe(1);
  expect(v.out).toMatch(/FAILED: .*an off-site file does not match its checksum in files\.sha256/);
  expect(pg!.lastVerification()).toMatchObject({
    success: false,
    message: expect.stringMatching(/an off-site file does not match its checksum/),
  });
});

test("a missing remote copy fails the verification with the store's answer", () => {
  const stamp = backups().pop()!;
  const manifest = fs.readFileSync(remote(stamp, "files.sha256"));
  fs.rmSync(remote(stamp, "files.sha256"));
  const v = verify();
  fs.writeFileSync(remote(stamp, "files.sha256"), manifest);
  expect(v.code).toBe(1);
  expect(v.out).toMatch(
    /the off-site copy of files\.sha256 cannot be read from .*: HTTP 404 NoSuchKey/,
  );
  expect(pg!.lastVerification()).toMatchObject({
    success: false,
    message: expect.stringMatching(/the off-site copy of files\.sha256 cannot be read/),
  });
});

test("a wrong secret key fails the backup job with the store's refusal; the local backup is kept", async () => {
  await new Promise((r) => setTimeout(r, 1100)); // backups are named by the second
  const before = backups().length;
  const b = backup({ OFFSITE_SECRET_ACCESS_KEY: "not-the-secret" });
  expect(b.code).toBe(1);
  expect(b.out).toMatch(
    /off-site copy of backup \d{8}T\d{6}Z FAILED at audit_log_analysis\.dump\.age .*: HTTP 403 SignatureDoesNotMatch: .*; the local backup is complete/,
  );
  expect(b.out).not.toContain("not-the-secret");
  expect(backups().length).toBeGreaterThan(before);
  const stamp = backups().pop()!;
  expect(fs.existsSync(path.join(dir, "backups", stamp, "files.sha256"))).toBe(true);
  expect(fs.existsSync(remote(stamp))).toBe(false);
}, 30_000);

test("an unreachable store fails the backup job with curl's reason", async () => {
  await new Promise((r) => setTimeout(r, 1100));
  const closed = await freePort();
  const b = backup({ OFFSITE_URL: `http://127.0.0.1:${closed}/${BUCKET}/${PREFIX}` });
  expect(b.code).toBe(1);
  expect(b.out).toMatch(/FAILED at .*: curl: \(7\) Failed to connect to 127\.0\.0\.1 port \d+/);
}, 60_000);
