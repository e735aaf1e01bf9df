/**
 * Starts real servers from Debian's packages on loopback for the conformance tier. Nothing is
 * installed here (scripts/install-servers.sh does that in CI); a missing binary fails the test.
 */
import { ChildProcess, execFileSync, spawn, SpawnOptions } from "child_process";
import * as fs from "fs";
import * as http from "http";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { backupScriptFiles } from "../../components/data/backup-scripts";
import { pgbouncerIni, userlist } from "../../components/data/pgbouncer-config";
import {
  BACKUP_VERIFICATION_TABLE,
  databaseName,
  initScript,
  MONITORING_ROLE,
  passwordEnv,
  pgHbaConf,
  pgIdentConf,
  postgresqlConf,
  PostgresTuning,
} from "../../components/data/postgres-config";
import {
  AmqpUser,
  definitions,
  enabledPlugins,
  QueueSpec,
  rabbitmqConf,
  rabbitPasswordHash,
} from "../../components/messaging/rabbitmq-config";

/** A port that was free a moment ago on 127.0.0.1. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

/** Polls until `ok` returns true, or fails after `ms` with the last error. */
export async function waitFor(
  what: string,
  ok: () => boolean | Promise<boolean>,
  ms = 30_000,
): Promise<void> {
  const deadline = Date.now() + ms;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      if (await ok()) return;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(
    `timed out after ${ms} ms waiting for ${what}${last ? `: ${(last as Error).message}` : ""}`,
  );
}

/** The binary's path, or a clear failure naming the Debian package that provides it. */
export function requireBinary(file: string, pkg: string): string {
  if (fs.existsSync(file)) return file;
  throw new Error(
    `${file} is missing: install the Debian package ${pkg} (scripts/install-servers.sh)`,
  );
}

/** Directory of the newest PostgreSQL server binaries Debian installed. */
export function postgresBin(): string {
  const base = "/usr/lib/postgresql";
  const versions = fs.existsSync(base)
    ? fs
        .readdirSync(base)
        .filter((v) => /^\d+$/.test(v))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (!versions.length)
    throw new Error(
      "PostgreSQL server binaries are missing: install the Debian package postgresql",
    );
  return path.join(base, versions[0]!, "bin");
}

/** A temporary directory owned by a system user (servers refuse to run as root). */
export function tempDirFor(user: string, prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  execFileSync("chown", ["-R", `${user}:${user}`, dir]);
  fs.chmodSync(dir, 0o700);
  return dir;
}

/** uid and gid of a system user (the Debian packages create them). */
export function userIds(user: string): { uid: number; gid: number } {
  const uid = Number(execFileSync("id", ["-u", user], { encoding: "utf8" }).trim());
  const gid = Number(execFileSync("id", ["-g", user], { encoding: "utf8" }).trim());
  return { uid, gid };
}

/** Runs a command as a system user and returns stdout; throws with stderr on failure. */
export function runAs(
  user: string,
  cmd: string,
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; input?: string; cwd?: string } = {},
): string {
  return execFileSync(cmd, args, {
    ...userIds(user),
    env: { ...process.env, HOME: "/tmp", ...opts.env },
    input: opts.input,
    cwd: opts.cwd ?? "/",
    encoding: "utf8",
    stdio: ["pipe", "pipe", "pipe"],
    timeout: 60_000,
  });
}

/** Starts a long-running server as a system user (signals reach it directly); output goes to a log. */
export function startAs(
  user: string,
  cmd: string,
  args: string[],
  log: string,
  opts: SpawnOptions = {},
): ChildProcess {
  const out = fs.openSync(log, "a");
  return spawn(cmd, args, {
    ...userIds(user),
    stdio: ["ignore", out, out],
    cwd: "/",
    ...opts,
    env: { ...process.env, HOME: "/tmp", ...opts.env },
  });
}

/** Stops a process tree started by startAs and waits for it to exit. */
export async function stop(
  child: ChildProcess | undefined,
  signal: NodeJS.Signals = "SIGTERM",
): Promise<void> {
  if (!child || child.exitCode !== null) return;
  const exited = new Promise((r) => child.once("exit", r));
  child.kill(signal);
  // The timer is cleared once the process exits, so that it does not keep jest alive.
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([exited, new Promise((r) => (timer = setTimeout(r, 15_000)))]);
  clearTimeout(timer);
  if (child.exitCode === null) child.kill("SIGKILL");
}

/** Writes a file readable by a system user. */
/**
 * Replaces the one occurrence of `from` in a generated config (to point a server at loopback);
 * throws when it occurs zero or several times, so a change in the generator fails the test instead
 * of leaving the server listening where the patch meant it not to.
 */
export function patchOnce(text: string, from: string, to: string): string {
  const count = text.split(from).length - 1;
  if (count !== 1)
    throw new Error(`expected "${from}" exactly once in the generated config, found ${count}`);
  return text.replace(from, to);
}

export function writeFor(user: string, file: string, content: string, mode = 0o600): void {
  fs.writeFileSync(file, content, { mode });
  execFileSync("chown", [`${user}:${user}`, file]);
}

/**
 * A throwaway PostgreSQL on a Unix socket, with a backup directory, for the backup scripts. Its
 * monitoring role is created by the generated init script, as in the cluster.
 */
export interface BackupPostgres {
  dir: string;
  bin: string;
  /** PG*, BACKUP_* and MONITORING_ROLE variables the backup and verification scripts read. */
  env: NodeJS.ProcessEnv;
  /** A libpq connection string for the monitoring role (the exporter's DATA_SOURCE_NAME). */
  monitorDsn: string;
  /** Runs SQL in a database as the superuser; returns psql's output. */
  psql(db: string, sql: string): string;
  /** The verification job's recorded outcome (its one row), or undefined before the first run. */
  lastVerification(): Verification | undefined;
  /** Generates an age key pair into `file` (owned by postgres) and returns its public key. */
  newKey(file: string): string;
  /** Creates a database with an audit_event table of `rows` rows. */
  seed(db: string, rows: number): void;
  /** Writes the generated backup.sh and verify.sh into `dir`; returns their paths. */
  writeScripts(): { backup: string; verify: string };
  /**
   * Runs a script as the postgres user with `env` plus `extra`, under `shell` (default sh);
   * returns its exit code and its output (stdout, then stderr).
   */
  runScript(file: string, extra?: NodeJS.ProcessEnv, shell?: string[]): ScriptRun;
  stop(): Promise<void>;
}

/** What a script run returned. */
export interface ScriptRun {
  code: number;
  out: string;
}

/** The row the verification script records in BACKUP_VERIFICATION_TABLE. */
export interface Verification {
  success: boolean;
  /** Unix seconds. */
  finishedAt: number;
  backup: string | null;
  message: string;
}

/**
 * Runs SQL in a database as the postgres superuser over the server's Unix socket in `dir` (peer or
 * trust authentication); the function returns psql's unaligned output.
 */
function superuserPsql(
  psql: string,
  dir: string,
  port: number,
): (db: string, sql: string) => string {
  return (db, sql) =>
    runAs("postgres", psql, [
      "-X",
      "-v",
      "ON_ERROR_STOP=1",
      "-h",
      dir,
      "-p",
      String(port),
      "-U",
      "postgres",
      "-d",
      db,
      "-tAc",
      sql,
    ]);
}

/**
 * Starts `postgres` as the postgres user on the data directory, with its Unix socket in `dir`, its
 * log in `dir/postgres.log` and the given settings (`-c name=value`).
 */
function startPostgresServer(
  bin: string,
  data: string,
  dir: string,
  settings: Record<string, string>,
): ChildProcess {
  const args = Object.entries({ ...settings, unix_socket_directories: dir }).flatMap(([k, v]) => [
    "-c",
    `${k}=${v}`,
  ]);
  return startAs(
    "postgres",
    path.join(bin, "postgres"),
    ["-D", data, ...args],
    path.join(dir, "postgres.log"),
  );
}

export async function startBackupPostgres(prefix: string): Promise<BackupPostgres> {
  const bin = postgresBin();
  const keygen = requireBinary("/usr/bin/age-keygen", "age");
  const dir = tempDirFor("postgres", prefix);
  const port = await freePort();
  runAs("postgres", path.join(bin, "initdb"), [
    "-D",
    path.join(dir, "data"),
    "-U",
    "postgres",
    "--auth-local=trust",
  ]);
  const server = startPostgresServer(bin, path.join(dir, "data"), dir, {
    port: String(port),
    listen_addresses: "",
  });
  const env = {
    PATH: `${bin}:/usr/bin:/bin`,
    PGHOST: dir,
    PGPORT: String(port),
    PGUSER: "postgres",
    BACKUP_DIR: path.join(dir, "backups"),
    BACKUP_KEEP: "2",
    MONITORING_ROLE,
  };
  await waitFor("postgres", () => {
    runAs("postgres", path.join(bin, "pg_isready"), ["-h", dir, "-p", String(port)]);
    return true;
  });
  // The monitoring role exactly as the Postgres component's init script creates it (no service
  // databases here). Local connections are trusted, so its password is not needed afterwards.
  const init = path.join(dir, "init.sh");
  writeFor("postgres", init, initScript([], { role: MONITORING_ROLE, passwordEnv: "MONITOR_PW" }));
  runAs("postgres", "sh", [init], { env: { ...env, MONITOR_PW: "monitor-Secret-3" } });
  fs.mkdirSync(env.BACKUP_DIR);
  execFileSync("chown", ["postgres:postgres", env.BACKUP_DIR]);
  const psql = superuserPsql(path.join(bin, "psql"), dir, port);
  return {
    dir,
    bin,
    env,
    monitorDsn: `host=${dir} port=${port} user=${MONITORING_ROLE} dbname=postgres sslmode=disable`,
    psql,
    lastVerification: () => {
      const exists = psql("postgres", `select to_regclass('${BACKUP_VERIFICATION_TABLE}')`).trim();
      if (!exists) return undefined;
      const row = psql(
        "postgres",
        `select json_build_object('success', success, 'finishedAt', extract(epoch from finished_at), 'backup', backup, 'message', message) from ${BACKUP_VERIFICATION_TABLE}`,
      ).trim();
      return row ? (JSON.parse(row) as Verification) : undefined;
    },
    newKey: (file) => {
      runAs("postgres", keygen, ["-o", file]);
      return /public key: (age1\w+)/.exec(fs.readFileSync(file, "utf8"))![1]!;
    },
    seed: (db, rows) => {
      psql("postgres", `create database ${db}`);
      psql(db, "create table audit_event (id serial primary key, actor text, body jsonb)");
      psql(
        db,
        `insert into audit_event (actor, body) select 'user' || g, jsonb_build_object('n', g) from generate_series(1, ${rows}) g`,
      );
    },
    writeScripts: () => {
      // As the ConfigMap mounts them: side by side, since both scripts source s3.sh.
      for (const f of backupScriptFiles)
        writeFor("postgres", path.join(dir, f.name), f.text, 0o700);
      return { backup: path.join(dir, "backup.sh"), verify: path.join(dir, "verify.sh") };
    },
    runScript: (file, extra = {}, shell = ["sh"]) => {
      const [cmd, ...args] = shell;
      try {
        return {
          code: 0,
          out: runAs("postgres", cmd!, [...args, file], { env: { ...env, ...extra } }),
        };
      } catch (e) {
        const err = e as { status: number; stdout: string; stderr: string };
        return { code: err.status, out: `${err.stdout}${err.stderr}` };
      }
    },
    stop: async () => {
      await stop(server, "SIGINT");
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** PostgreSQL as the Postgres component configures it, with PgBouncer in front, on loopback. */
export interface ServicePostgres {
  /** Temporary directory: data, generated files, logs and the server's Unix socket. */
  dir: string;
  /** PostgreSQL's port on 127.0.0.1. */
  pgPort: number;
  /** PgBouncer's port on 127.0.0.1. */
  bouncerPort: number;
  /** PgBouncer's log file. */
  bouncerLog: string;
  /** Runs SQL as the superuser over the Unix socket (peer authentication); returns the output. */
  superuser(db: string, sql: string): string;
  /** Stops PgBouncer, then PostgreSQL, and removes the directory. */
  stop(): Promise<void>;
}

/**
 * Starts PostgreSQL with exactly the files the components generate (postgresql.conf, pg_hba.conf,
 * pg_ident.conf and the init script, run as the image's entrypoint runs it) and PgBouncer with the
 * generated pgbouncer.ini and userlist, both as the `postgres` system user. `passwords` holds each
 * service's role password, keyed by service. If anything fails to start, what did start is stopped.
 */
export async function startServicePostgres(opts: {
  prefix: string;
  tuning: PostgresTuning;
  passwords: Readonly<Record<string, string>>;
  monitoring: { role: string; password: string };
  /** PgBouncer's stats-only user (the exporter's), added to stats_users and the userlist. */
  pgbouncerStats?: { user: string; password: string };
}): Promise<ServicePostgres> {
  const bin = postgresBin();
  const psql = requireBinary(path.join(bin, "psql"), "postgresql-client");
  const pgbouncer = requireBinary("/usr/sbin/pgbouncer", "pgbouncer");
  const dbs = Object.keys(opts.passwords).map((service) => ({
    service,
    name: databaseName(service),
    passwordEnv: passwordEnv(service),
  }));
  const dir = tempDirFor("postgres", opts.prefix);
  const pgPort = await freePort();
  const bouncerPort = await freePort();
  const bouncerLog = path.join(dir, "pgbouncer.log");
  let postgres: ChildProcess | undefined;
  let bouncer: ChildProcess | undefined;
  const stopAll = async () => {
    await stop(bouncer);
    await stop(postgres, "SIGINT");
    fs.rmSync(dir, { recursive: true, force: true });
  };
  const superuser = (db: string, sql: string) => superuserPsql(psql, dir, pgPort)(db, sql).trim();
  try {
    const data = path.join(dir, "data");
    runAs("postgres", path.join(bin, "initdb"), [
      "-D",
      data,
      "-U",
      "postgres",
      "--auth-local=peer",
      "--auth-host=scram-sha-256",
    ]);
    // The generated files, as the ConfigMap mounts them.
    writeFor("postgres", path.join(dir, "postgresql.conf"), postgresqlConf(opts.tuning));
    writeFor(
      "postgres",
      path.join(dir, "pg_hba.conf"),
      pgHbaConf({ monitoringRole: opts.monitoring.role }),
    );
    writeFor("postgres", path.join(dir, "pg_ident.conf"), pgIdentConf());
    postgres = startPostgresServer(bin, data, dir, {
      config_file: path.join(dir, "postgresql.conf"),
      hba_file: path.join(dir, "pg_hba.conf"),
      ident_file: path.join(dir, "pg_ident.conf"),
      port: String(pgPort),
      listen_addresses: "127.0.0.1",
    });
    await waitFor("postgres to accept connections", () => {
      execFileSync(path.join(bin, "pg_isready"), ["-h", "127.0.0.1", "-p", String(pgPort)], {
        stdio: "ignore",
      });
      return true;
    });
    // The init script, run as the image's entrypoint runs it: over the local socket, passwords
    // from the environment.
    const script = path.join(dir, "init.sh");
    const MONITOR_ENV = "MONITOR_PASSWORD";
    writeFor(
      "postgres",
      script,
      initScript(dbs, { role: opts.monitoring.role, passwordEnv: MONITOR_ENV }),
      0o700,
    );
    runAs("postgres", "sh", [script], {
      env: {
        PATH: `${bin}:${process.env.PATH}`,
        PGHOST: dir,
        PGPORT: String(pgPort),
        POSTGRES_USER: "postgres",
        [MONITOR_ENV]: opts.monitoring.password,
        ...Object.fromEntries(dbs.map((d) => [d.passwordEnv, opts.passwords[d.service]!])),
      },
    });

    // PgBouncer with the generated ini and userlist (as the Secret mounts it), on loopback only.
    const ini = path.join(dir, "pgbouncer.ini");
    const users = path.join(dir, "userlist.txt");
    writeFor(
      "postgres",
      ini,
      patchOnce(
        pgbouncerIni({
          postgresHost: "127.0.0.1",
          postgresPort: pgPort,
          listenPort: bouncerPort,
          databases: dbs.map((d) => d.name),
          defaultPoolSize: 5,
          reservePoolSize: 1,
          maxClientConn: 50,
          authFile: users,
          statsUser: opts.pgbouncerStats?.user,
        }),
        "listen_addr = 0.0.0.0",
        "listen_addr = 127.0.0.1",
      ),
    );
    writeFor(
      "postgres",
      users,
      userlist([
        ...dbs.map((d) => ({ name: d.name, password: opts.passwords[d.service]! })),
        ...(opts.pgbouncerStats
          ? [{ name: opts.pgbouncerStats.user, password: opts.pgbouncerStats.password }]
          : []),
      ]),
    );
    bouncer = startAs("postgres", pgbouncer, [ini], bouncerLog);
    const first = dbs[0]!;
    await waitFor("pgbouncer to accept connections", () => {
      execFileSync(
        psql,
        ["-X", "-h", "127.0.0.1", "-p", String(bouncerPort), "-U", first.name, "-d", first.name],
        {
          input: "select 1",
          env: {
            ...process.env,
            PGPASSWORD: opts.passwords[first.service],
            PGCONNECT_TIMEOUT: "5",
          },
          stdio: ["pipe", "ignore", "pipe"],
        },
      );
      return true;
    });
  } catch (e) {
    // The logs go with the temporary directory; keep their ends in the error.
    const tail = (file: string) => {
      if (!fs.existsSync(file)) return "";
      const last = fs.readFileSync(file, "utf8").split("\n").slice(-20).join("\n");
      return `\n--- ${path.basename(file)}:\n${last}`;
    };
    const logs = tail(path.join(dir, "postgres.log")) + tail(bouncerLog);
    await stopAll();
    if (e instanceof Error) e.message += logs;
    throw e;
  }
  return { dir, pgPort, bouncerPort, bouncerLog, superuser, stop: stopAll };
}

/** An S3-compatible store (Versity S3 Gateway on a POSIX directory) that checks SigV4 signatures. */
export interface S3Store {
  /** http://127.0.0.1:PORT */
  endpoint: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** Directory holding the buckets: `<root>/<bucket>/<key>`. */
  root: string;
  /** Creates a bucket through the S3 API (a signed PUT). */
  createBucket(bucket: string): void;
  stop(): Promise<void>;
}

/** Where scripts/install-servers.sh put versitygw; a missing binary fails with how to get it. */
function versitygwBinary(): string {
  const file = execFileSync(
    "bash",
    [path.resolve(__dirname, "../../scripts/install-servers.sh"), "--versitygw-path"],
    { encoding: "utf8" },
  ).trim();
  if (fs.existsSync(file)) return file;
  throw new Error(`${file} is missing: run scripts/install-servers.sh (builds versitygw with Go)`);
}

export async function startS3Store(
  prefix: string,
  credentials: { accessKeyId: string; secretAccessKey: string },
): Promise<S3Store> {
  const bin = versitygwBinary();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  const root = path.join(dir, "store");
  fs.mkdirSync(root);
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  const out = fs.openSync(path.join(dir, "versitygw.log"), "a");
  const server = spawn(bin, ["--port", `127.0.0.1:${port}`, "posix", root], {
    stdio: ["ignore", out, out],
    // The gateway's root account; passing it in the environment keeps it off the process list.
    env: {
      PATH: process.env.PATH,
      ROOT_ACCESS_KEY: credentials.accessKeyId,
      ROOT_SECRET_KEY: credentials.secretAccessKey,
    },
  });
  const signed = (args: string[]) =>
    execFileSync(
      "curl",
      [
        "-sS",
        "--fail-with-body",
        "-K",
        "-",
        "--aws-sigv4",
        "aws:amz:us-east-1:s3",
        "-H",
        "x-amz-content-sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        ...args,
      ],
      {
        input: `user = "${`${credentials.accessKeyId}:${credentials.secretAccessKey}`.replace(/[\\"]/g, "\\$&")}"\n`,
        encoding: "utf8",
        stdio: ["pipe", "pipe", "pipe"],
        timeout: 10_000,
      },
    );
  await waitFor("versitygw to answer a signed request", () => {
    signed([`${endpoint}/`]);
    return true;
  });
  return {
    endpoint,
    ...credentials,
    root,
    createBucket: (bucket) => void signed(["-X", "PUT", `${endpoint}/${bucket}`]),
    stop: async () => {
      await stop(server);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Debian's prometheus-postgres-exporter on loopback, with a custom queries file. */
export interface PostgresExporter {
  /** http://127.0.0.1:PORT/metrics */
  url: string;
  /** One scrape: the exposition text. */
  scrape(): Promise<string>;
  stop(): Promise<void>;
}

/** GETs a URL without keep-alive (so no socket outlives the test); rejects on a non-200 answer. */
function httpGet(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent: false, timeout: 10_000 }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (body += chunk));
      res.on("end", () =>
        res.statusCode === 200
          ? resolve(body)
          : reject(new Error(`GET ${url}: HTTP ${res.statusCode}: ${body.slice(0, 300)}`)),
      );
    });
    req.on("timeout", () => req.destroy(new Error(`GET ${url}: timed out`)));
    req.on("error", reject);
  });
}

/**
 * Starts the exporter as the `postgres` system user (it reaches the server's socket directory),
 * logging in with `dsn` and loading `queries` as its --extend.query-path file, as the Postgres
 * component's sidecar does. Its files go in `dir`; it is up once /metrics answers.
 */
export async function startPostgresExporter(opts: {
  dir: string;
  dsn: string;
  queries: string;
}): Promise<PostgresExporter> {
  const bin = requireBinary(
    "/usr/bin/prometheus-postgres-exporter",
    "prometheus-postgres-exporter",
  );
  const queries = path.join(opts.dir, "exporter-queries.yaml");
  writeFor("postgres", queries, opts.queries);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}/metrics`;
  const log = path.join(opts.dir, "exporter.log");
  const child = startAs(
    "postgres",
    bin,
    [`--web.listen-address=127.0.0.1:${port}`, `--extend.query-path=${queries}`],
    log,
    { env: { DATA_SOURCE_NAME: opts.dsn } },
  );
  try {
    await waitFor("the exporter to answer on /metrics", async () => {
      if (child.exitCode !== null) throw new Error(`it exited with ${child.exitCode}`);
      await httpGet(url);
      return true;
    });
  } catch (e) {
    await stop(child);
    if (e instanceof Error && fs.existsSync(log))
      e.message += `\n--- exporter.log:\n${fs.readFileSync(log, "utf8").split("\n").slice(-20).join("\n")}`;
    throw e;
  }
  return { url, scrape: () => httpGet(url), stop: () => stop(child) };
}

/** rabbitmq-server on loopback with the generated rabbitmq.conf and definitions. */
export interface RabbitServer {
  dir: string;
  /** AMQP port on 127.0.0.1. */
  port: number;
  /** The prometheus plugin's port on 127.0.0.1. */
  prometheusPort: number;
  stop(): Promise<void>;
}

/**
 * Starts rabbitmq-server as the rabbitmq user with the generated configuration (a 512Mi memory
 * limit, the definitions of `users` and `queues`), listening on loopback only; it is up once
 * `ready()` (an AMQP login, for instance) succeeds.
 */
export async function startRabbitMQ(opts: {
  prefix: string;
  users: readonly (AmqpUser & { password: string })[];
  queues: readonly QueueSpec[];
  ready: (port: number) => Promise<boolean>;
}): Promise<RabbitServer> {
  const dir = tempDirFor("rabbitmq", opts.prefix);
  const port = await freePort();
  const dist = await freePort();
  const prometheusPort = await freePort();
  const defs = path.join(dir, "definitions.json");
  writeFor(
    "rabbitmq",
    defs,
    JSON.stringify(
      definitions({
        users: opts.users.map((u) => ({ ...u, passwordHash: rabbitPasswordHash(u.password) })),
        queues: opts.queues,
        quorum: false,
      }),
    ),
  );
  writeFor(
    "rabbitmq",
    path.join(dir, "rabbitmq.conf"),
    rabbitmqConf({
      memoryLimit: "512Mi",
      memoryHighWatermark: 0.6,
      diskFreeLimit: "50MB",
      definitionsPath: defs,
      amqpPort: port,
      managementPort: await freePort(),
      prometheusPort,
    }) + `listeners.tcp.default = 127.0.0.1:${port}\n`,
  );
  writeFor("rabbitmq", path.join(dir, "enabled_plugins"), enabledPlugins(false));
  const nodeName = `conformance${port}@localhost`;
  const env = {
    RABBITMQ_NODENAME: nodeName,
    RABBITMQ_CONFIG_FILE: path.join(dir, "rabbitmq"),
    RABBITMQ_ENABLED_PLUGINS_FILE: path.join(dir, "enabled_plugins"),
    RABBITMQ_MNESIA_BASE: path.join(dir, "mnesia"),
    RABBITMQ_LOG_BASE: path.join(dir, "log"),
    RABBITMQ_DIST_PORT: String(dist),
    RABBITMQ_PID_FILE: path.join(dir, "rabbit.pid"),
    // A failed boot leaves its crash dump with the test's files, not in the working directory.
    ERL_CRASH_DUMP: path.join(dir, "erl_crash.dump"),
    HOME: dir,
  };
  const server = startAs(
    "rabbitmq",
    requireBinary("/usr/lib/rabbitmq/bin/rabbitmq-server", "rabbitmq-server"),
    [],
    path.join(dir, "server.log"),
    { env },
  );
  await waitFor("rabbitmq to accept a login", () => opts.ready(port), 90_000);
  return {
    dir,
    port,
    prometheusPort,
    stop: async () => {
      try {
        execFileSync("/usr/lib/rabbitmq/bin/rabbitmqctl", ["-n", nodeName, "stop"], {
          stdio: "ignore",
          timeout: 30_000,
          env: { ...process.env, HOME: dir },
        });
      } catch {
        // fall through to the signal
      }
      await stop(server);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
