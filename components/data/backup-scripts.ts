/**
 * The scripts the backup CronJobs run, as they ship in `postgres-backup/` (POSIX sh; pg_dump,
 * pg_restore, psql, age, sha256sum and, for the off-site copy, curl), each with its environment
 * contract: the one declaration of the variables it reads, checked against the script's header
 * when it is loaded (components/lib/shell.ts). What the scripts do is described in their headers;
 * the conformance tier runs them against a real server.
 */
import { loadShellScript } from "../lib/shell";

const dir = `${__dirname}/postgres-backup`;

/** The server the scripts reach through libpq's own variables. */
const POSTGRES_ENV = {
  PGHOST: "required",
  PGPORT: "required",
  PGUSER: "required",
  PGPASSWORD: "required",
} as const;

/** The optional off-site copy, read by both scripts: all or none of URL and keys are set. */
export const OFFSITE_ENV = {
  OFFSITE_URL: "optional",
  OFFSITE_REGION: "optional",
  OFFSITE_ACCESS_KEY_ID: "optional",
  OFFSITE_SECRET_ACCESS_KEY: "optional",
  OFFSITE_CA_FILE: "optional",
} as const;

/** `s3`: the off-site store's client function, sourced by both scripts. */
export const s3Script = loadShellScript(dir, "s3.sh", {
  OFFSITE_ACCESS_KEY_ID: "required",
  OFFSITE_SECRET_ACCESS_KEY: "required",
  OFFSITE_REGION: "optional",
  OFFSITE_CA_FILE: "optional",
});

/** Nightly backup of every database, encrypted with age, with a manifest; optional off-site copy. */
export const backupScript = loadShellScript(dir, "backup.sh", {
  ...POSTGRES_ENV,
  BACKUP_DIR: "required",
  ...OFFSITE_ENV,
  BACKUP_DATABASES: "required",
  BACKUP_KEEP: "optional",
  BACKUP_RECIPIENTS: "required",
});

/** Proof that the newest backup restores, recorded in PostgreSQL for the exporter. */
export const verifyScript = loadShellScript(dir, "verify.sh", {
  ...POSTGRES_ENV,
  BACKUP_DIR: "required",
  ...OFFSITE_ENV,
  AGE_IDENTITY_FILE: "required",
  MONITORING_ROLE: "required",
});

/** Every file the jobs need side by side (the scripts source s3.sh from their own folder). */
export const backupScriptFiles = [backupScript, verifyScript, s3Script] as const;
