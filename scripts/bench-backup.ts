/**
 * Benchmark: backup and verified restore of a ~100 MB database with the generated scripts, on a
 * real PostgreSQL started on loopback (needs scripts/install-servers.sh; runs as root like CI).
 *
 *   npm run bench:backup [-- --megabytes 100]
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { parseArgs } from "util";
import { backupScript, verifyScript } from "../components/data/backup-scripts";
import {
  freePort,
  postgresBin,
  runAs,
  startAs,
  stop,
  tempDirFor,
  waitFor,
  writeFor,
} from "../tests/conformance/servers";

async function main() {
  const { values } = parseArgs({ options: { megabytes: { type: "string", default: "100" } } });
  const mb = Number(values.megabytes);
  const bin = postgresBin();
  const dir = tempDirFor("postgres", "bench-backup-");
  const port = await freePort();
  runAs("postgres", path.join(bin, "initdb"), [
    "-D",
    path.join(dir, "data"),
    "-U",
    "postgres",
    "--auth-local=trust",
  ]);
  const server = startAs(
    "postgres",
    path.join(bin, "postgres"),
    [
      "-D",
      path.join(dir, "data"),
      "-c",
      `port=${port}`,
      "-c",
      "listen_addresses=",
      "-c",
      `unix_socket_directories=${dir}`,
    ],
    path.join(dir, "pg.log"),
  );
  try {
    const env = {
      PATH: `${bin}:/usr/bin:/bin`,
      PGHOST: dir,
      PGPORT: String(port),
      PGUSER: "postgres",
      BACKUP_DIR: path.join(dir, "backups"),
      BACKUP_KEEP: "2",
    };
    await waitFor("postgres", () => {
      runAs("postgres", path.join(bin, "pg_isready"), ["-h", dir, "-p", String(port)]);
      return true;
    });
    fs.mkdirSync(env.BACKUP_DIR);
    execFileSync("chown", ["postgres:postgres", env.BACKUP_DIR]);
    runAs("postgres", "age-keygen", ["-o", path.join(dir, "key.txt")]);
    const recipient = /public key: (age1\w+)/.exec(
      fs.readFileSync(path.join(dir, "key.txt"), "utf8"),
    )![1]!;
    const psql = (sql: string) =>
      runAs(
        "postgres",
        path.join(bin, "psql"),
        [
          "-X",
          "-v",
          "ON_ERROR_STOP=1",
          "-h",
          dir,
          "-p",
          String(port),
          "-d",
          "audit_log_analysis",
          "-tAc",
          sql,
        ],
        { env },
      );
    runAs("postgres", path.join(bin, "createdb"), [
      "-h",
      dir,
      "-p",
      String(port),
      "audit_log_analysis",
    ]);
    // Audit events with varied text, about 200 bytes a row on disk.
    psql(
      "create table audit_event (id bigserial primary key, actor text, action text, body jsonb, at timestamptz default now())",
    );
    const rows = Math.round((mb * 2 ** 20) / 200);
    psql(
      `insert into audit_event (actor, action, body) select 'user' || (g % 5000), (array['login','logout','read','write','delete'])[1 + g % 5], jsonb_build_object('seq', g, 'ip', '10.0.' || (g % 255) || '.' || (g % 199), 'note', md5(g::text)) from generate_series(1, ${rows}) g`,
    );
    const size = psql("select pg_size_pretty(pg_database_size('audit_log_analysis'))").trim();
    writeFor("postgres", path.join(dir, "backup.sh"), backupScript(), 0o700);
    writeFor("postgres", path.join(dir, "verify.sh"), verifyScript(), 0o700);
    const time = (label: string, script: string, extra: NodeJS.ProcessEnv) => {
      const t0 = process.hrtime.bigint();
      runAs("postgres", "sh", [script], { env: { ...env, ...extra } });
      const s = Number(process.hrtime.bigint() - t0) / 1e9;
      console.log(`${label.padEnd(18)} ${s.toFixed(1)} s`);
      return s;
    };
    console.log(
      `Backup benchmark: database of ${size} (${rows.toLocaleString("en-US")} rows), PostgreSQL ${path.basename(path.dirname(bin))}`,
    );
    time("backup", path.join(dir, "backup.sh"), {
      BACKUP_DATABASES: "audit_log_analysis",
      BACKUP_RECIPIENTS: recipient,
    });
    const backups = fs.readdirSync(env.BACKUP_DIR).filter((d) => /^\d{8}T/.test(d));
    const file = path.join(env.BACKUP_DIR, backups[0]!, "audit_log_analysis.dump.age");
    console.log(
      `${"encrypted dump".padEnd(18)} ${(fs.statSync(file).size / 2 ** 20).toFixed(1)} MiB`,
    );
    time("verified restore", path.join(dir, "verify.sh"), {
      AGE_IDENTITY_FILE: path.join(dir, "key.txt"),
    });
  } finally {
    await stop(server, "SIGINT");
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
