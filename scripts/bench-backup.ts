/**
 * Benchmark: backup and verified restore of a ~100 MB database with the generated scripts, on a
 * real PostgreSQL started on loopback (needs scripts/install-servers.sh; runs as root like CI), then
 * the same with the off-site copy to a Versity S3 Gateway on loopback (upload, and the remote check).
 *
 *   npm run bench:backup [-- --megabytes 100]
 */
import * as fs from "fs";
import * as path from "path";
import { parseArgs } from "util";
import { startBackupPostgres, startS3Store } from "../tests/conformance/servers";

async function main() {
  const { values } = parseArgs({ options: { megabytes: { type: "string", default: "100" } } });
  const mb = Number(values.megabytes);
  const pg = await startBackupPostgres("bench-backup-");
  const { dir, bin } = pg;
  try {
    const recipient = pg.newKey(path.join(dir, "key.txt"));
    pg.psql("postgres", "create database audit_log_analysis");
    const psql = (sql: string) => pg.psql("audit_log_analysis", sql);
    // Audit events with varied text, about 200 bytes a row on disk.
    psql(
      "create table audit_event (id bigserial primary key, actor text, action text, body jsonb, at timestamptz default now())",
    );
    const rows = Math.round((mb * 2 ** 20) / 200);
    psql(
      `insert into audit_event (actor, action, body) select 'user' || (g % 5000), (array['login','logout','read','write','delete'])[1 + g % 5], jsonb_build_object('seq', g, 'ip', '10.0.' || (g % 255) || '.' || (g % 199), 'note', md5(g::text)) from generate_series(1, ${rows}) g`,
    );
    const size = psql("select pg_size_pretty(pg_database_size('audit_log_analysis'))").trim();
    const scripts = pg.writeScripts();
    const time = (label: string, script: string, extra: NodeJS.ProcessEnv) => {
      const t0 = process.hrtime.bigint();
      const run = pg.runScript(script, extra);
      if (run.code !== 0) throw new Error(`${label} failed (exit ${run.code}):\n${run.out}`);
      const s = Number(process.hrtime.bigint() - t0) / 1e9;
      console.log(`${label.padEnd(18)} ${s.toFixed(1)} s`);
      return s;
    };
    console.log(
      `Backup benchmark: database of ${size} (${rows.toLocaleString("en-US")} rows), PostgreSQL ${path.basename(path.dirname(bin))}`,
    );
    time("backup", scripts.backup, {
      BACKUP_DATABASES: "audit_log_analysis",
      BACKUP_RECIPIENTS: recipient,
    });
    const backupDir = path.join(dir, "backups");
    const backups = fs.readdirSync(backupDir).filter((d) => /^\d{8}T/.test(d));
    const file = path.join(backupDir, backups[0]!, "audit_log_analysis.dump.age");
    console.log(
      `${"encrypted dump".padEnd(18)} ${(fs.statSync(file).size / 2 ** 20).toFixed(1)} MiB`,
    );
    time("verified restore", scripts.verify, {
      AGE_IDENTITY_FILE: path.join(dir, "key.txt"),
    });

    const s3 = await startS3Store("bench-s3-", {
      accessKeyId: "auditflow-bench",
      secretAccessKey: "bench-secret-key",
    });
    try {
      s3.createBucket("auditflow-backups");
      const offsite = {
        OFFSITE_URL: `${s3.endpoint}/auditflow-backups/auditflow/bench`,
        OFFSITE_ACCESS_KEY_ID: s3.accessKeyId,
        OFFSITE_SECRET_ACCESS_KEY: s3.secretAccessKey,
      };
      await new Promise((r) => setTimeout(r, 1100)); // backups are named by the second
      time("backup + off-site", scripts.backup, {
        BACKUP_DATABASES: "audit_log_analysis",
        BACKUP_RECIPIENTS: recipient,
        ...offsite,
      });
      time("verify + off-site", scripts.verify, {
        AGE_IDENTITY_FILE: path.join(dir, "key.txt"),
        ...offsite,
      });
    } finally {
      await s3.stop();
    }
  } finally {
    await pg.stop();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
