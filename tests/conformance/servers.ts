/**
 * Starts real servers from Debian's packages on loopback for the conformance tier. Nothing is
 * installed here (scripts/install-servers.sh does that in CI); a missing binary fails the test.
 */
import { ChildProcess, execFileSync, spawn, SpawnOptions } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";

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
  await Promise.race([exited, new Promise((r) => setTimeout(r, 15_000))]);
  if (child.exitCode === null) child.kill("SIGKILL");
}

/** Writes a file readable by a system user. */
export function writeFor(user: string, file: string, content: string, mode = 0o600): void {
  fs.writeFileSync(file, content, { mode });
  execFileSync("chown", [`${user}:${user}`, file]);
}

/** A throwaway PostgreSQL on a Unix socket, with a backup directory, for the backup scripts. */
export interface BackupPostgres {
  dir: string;
  bin: string;
  /** PG* and BACKUP_* variables the backup and verification scripts read. */
  env: NodeJS.ProcessEnv;
  /** Runs SQL in a database as the superuser; returns psql's output. */
  psql(db: string, sql: string): string;
  /** Generates an age key pair into `file` (owned by postgres) and returns its public key. */
  newKey(file: string): string;
  stop(): Promise<void>;
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
  return {
    dir,
    bin,
    env,
    psql: (db, sql) =>
      runAs("postgres", path.join(bin, "psql"), [
        "-X",
        "-v",
        "ON_ERROR_STOP=1",
        "-h",
        dir,
        "-p",
        String(port),
        "-d",
        db,
        "-tAc",
        sql,
      ]),
    newKey: (file) => {
      runAs("postgres", keygen, ["-o", file]);
      return /public key: (age1\w+)/.exec(fs.readFileSync(file, "utf8"))![1]!;
    },
    stop: async () => {
      await stop(server, "SIGINT");
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
