/**
 * The migration Job of audit-log-analysis, run for real: its command and environment exactly as
 * the dev stack renders them (Secrets resolved from the program's own Secret objects), with the
 * Debian Alembic, through PgBouncer in transaction pooling mode, into PostgreSQL started with the
 * generated configuration. A fixture Alembic project (fixtures/alembic-analysis) stands for the
 * migrations the service's image ships in its working directory.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { databaseName } from "../../components/data/postgres-config";
import { only, planStack, RecordedResource, resolvedEnv } from "../helpers/program";
import { requireBinary, ServicePostgres, startServicePostgres } from "./servers";

const SERVICE = "audit-log-analysis";
const ROLE = databaseName(SERVICE);
const FIXTURES = path.join(__dirname, "fixtures");
/** The head revision of the fixture project. */
const HEAD = "0002";

requireBinary("/usr/bin/alembic", "alembic");

/** The migrate container's command and environment, with Secret references resolved. */
interface JobSpec {
  command: string[];
  env: Record<string, string>;
}

/** The migration Job's container, its Secret references resolved (see resolvedEnv). */
function migrationJob(resources: RecordedResource[]): JobSpec {
  const job = only(resources, "kubernetes:batch/v1:Job", `${SERVICE}-migrate`);
  const containers = (job.inputs.spec as any).template.spec.containers as any[];
  if (containers.length !== 1) {
    throw new Error(`expected one container in Job ${job.name}, found ${containers.length}`);
  }
  const c = containers[0];
  return { command: c.command, env: resolvedEnv(resources, job, c, `Job ${job.name}`) };
}

/**
 * The only change to the Job's environment: the in-cluster PgBouncer Service becomes the loopback
 * PgBouncer. DATABASE_HOST, DATABASE_PORT and the host:port of DATABASE_URL are replaced; the URL's
 * user, password, database and query (sslmode=disable) stay exactly as the program rendered them.
 */
function onLoopback(env: Record<string, string>, port: number): Record<string, string> {
  const url = new URL(env.DATABASE_URL!);
  url.hostname = "127.0.0.1";
  url.port = String(port);
  return {
    ...env,
    DATABASE_HOST: "127.0.0.1",
    DATABASE_PORT: String(port),
    DATABASE_URL: url.href,
  };
}

interface Run {
  status: number | null;
  /** stdout and stderr together. */
  output: string;
  /** What PgBouncer logged while the command ran. */
  bouncerLog: string;
}

let servers: ServicePostgres | undefined;
let work: string;
let job: JobSpec;
let env: Record<string, string>;

/**
 * Runs the Job's command in a project directory with the given environment plus PATH and HOME,
 * and notes what PgBouncer logged meanwhile.
 */
function runJob(project: string, jobEnv: Record<string, string>): Run {
  const [cmd, ...args] = job.command;
  const logged = fs.statSync(servers!.bouncerLog).size;
  const r = spawnSync(cmd!, args, {
    cwd: project,
    env: { ...jobEnv, PATH: "/usr/bin:/bin", HOME: work },
    encoding: "utf8",
    timeout: 60_000,
  });
  if (r.error) throw r.error;
  const bouncerLog = fs.readFileSync(servers!.bouncerLog).subarray(logged).toString("utf8");
  return { status: r.status, output: `${r.stdout}${r.stderr}`, bouncerLog };
}

/** A copy of a fixture project (Alembic writes __pycache__ next to the revisions). */
function project(name: string, extraRevisions?: string): string {
  const dir = path.join(work, name);
  fs.cpSync(path.join(FIXTURES, "alembic-analysis"), dir, { recursive: true });
  if (extraRevisions) {
    fs.cpSync(path.join(FIXTURES, extraRevisions, "versions"), path.join(dir, "versions"), {
      recursive: true,
    });
  }
  return dir;
}

/** SQL as the superuser in the service's database, over the Unix socket. */
const superuser = (sql: string) => servers!.superuser(ROLE, sql);

/** Every relation in the public schema with its kind and owner, and every column. */
function schema(): string {
  return superuser(`
    select c.relname || ' ' || c.relkind::text || ' owner=' || pg_get_userbyid(c.relowner)
      from pg_class c where c.relnamespace = 'public'::regnamespace
    union all
    select 'column ' || table_name || '.' || column_name || ' ' || data_type || ' null=' ||
           is_nullable || ' default=' || coalesce(column_default, '-')
      from information_schema.columns where table_schema = 'public'
    order by 1`);
}

const version = () => superuser("select string_agg(version_num, ',') from alembic_version");

let firstRun: Run | undefined;
let good: string;
/** The first `alembic upgrade head` on the empty database (later tests start from its result). */
function upgradeOnce(): Run {
  firstRun ??= runJob(good, env);
  return firstRun;
}

beforeAll(async () => {
  job = migrationJob((await planStack("dev")).resources);
  const password = job.env.DATABASE_PASSWORD;
  if (!password) throw new Error("the migration Job sets no DATABASE_PASSWORD");
  servers = await startServicePostgres({
    prefix: "migration-conformance-",
    tuning: { memoryLimit: "512Mi", maxConnections: 50 },
    // The service's role gets exactly the password the Job resolves.
    passwords: { [SERVICE]: password },
    monitoring: { role: "auditflow_monitor", password: "monitor-Secret-3" },
  });
  work = fs.mkdtempSync(path.join(os.tmpdir(), "migration-work-"));
  env = onLoopback(job.env, servers.bouncerPort);
  good = project("alembic-analysis");
}, 120_000);

afterAll(async () => {
  await servers?.stop();
  if (work) fs.rmSync(work, { recursive: true, force: true });
}, 40_000);

test("the Job's DATABASE_URL agrees with its DATABASE_* variables", () => {
  // The fixture project stands for an Alembic project; the other tests run the command as it is.
  expect(job.command[0]).toBe("alembic");
  const url = new URL(job.env.DATABASE_URL!);
  expect({
    scheme: url.protocol,
    host: url.hostname,
    port: url.port,
    user: url.username,
    password: decodeURIComponent(url.password),
    database: url.pathname,
    query: url.search,
  }).toEqual({
    scheme: "postgresql:",
    host: job.env.DATABASE_HOST,
    port: job.env.DATABASE_PORT,
    user: job.env.DATABASE_USER,
    password: job.env.DATABASE_PASSWORD,
    database: `/${job.env.DATABASE_NAME}`,
    query: "?sslmode=disable",
  });
  expect(job.env.DATABASE_NAME).toBe(ROLE);
  expect(job.env.DATABASE_USER).toBe(ROLE);
  // What the other tests run with differs from the rendered URL in host:port only.
  expect(env.DATABASE_URL).toBe(
    job.env.DATABASE_URL!.replace(
      `@${job.env.DATABASE_HOST}:${job.env.DATABASE_PORT}/`,
      `@127.0.0.1:${servers!.bouncerPort}/`,
    ),
  );
  expect(env.DATABASE_URL).not.toBe(job.env.DATABASE_URL);
});

test("alembic upgrade head migrates the service's database through PgBouncer, as its role", () => {
  const run = upgradeOnce();
  expect([run.status, run.output]).toEqual([0, expect.any(String)]);
  expect(run.output).toMatch(/Running upgrade {2}-> 0001/);
  expect(run.output).toMatch(/Running upgrade 0001 -> 0002/);
  expect(version()).toBe(HEAD);
  // The tables belong to the service's role, so it can alter them in later migrations.
  expect(
    superuser(
      "select tablename || ' ' || tableowner from pg_tables where schemaname = 'public' order by 1",
    ).split("\n"),
  ).toEqual([`alembic_version ${ROLE}`, `audit_events ${ROLE}`]);
  expect(superuser("select indexname from pg_indexes where tablename = 'audit_events'")).toMatch(
    /ix_audit_events_occurred_at/,
  );
  // It came through PgBouncer, not straight to PostgreSQL.
  expect(run.bouncerLog).toMatch(new RegExp(`login attempt: db=${ROLE} user=${ROLE}`));
});

test("a second run is a no-op that exits 0", () => {
  expect(upgradeOnce().status).toBe(0);
  const before = schema();
  const run = runJob(good, env);
  expect([run.status, run.output]).toEqual([0, expect.any(String)]);
  expect(run.output).not.toMatch(/Running upgrade/);
  expect(schema()).toBe(before);
  expect(version()).toBe(HEAD);
});

test("a failing revision exits non-zero and its transaction leaves the schema as it was", () => {
  expect(upgradeOnce().status).toBe(0);
  const before = schema();
  const run = runJob(project("alembic-analysis-failing", "alembic-analysis-failing"), env);
  expect(run.status).not.toBe(0);
  expect(run.output).toMatch(/Running upgrade 0002 -> 0003/);
  expect(run.output).toMatch(
    /null value in column "requested_at" of relation "audit_exports" violates not-null constraint/,
  );
  // The revision created audit_exports before it failed; the rollback took the table with it.
  expect(superuser("select to_regclass('public.audit_exports') is null")).toBe("t");
  expect(schema()).toBe(before);
  expect(version()).toBe(HEAD);
});

test("a wrong password in DATABASE_URL is refused by PgBouncer", () => {
  const url = new URL(env.DATABASE_URL!);
  url.password = "not-the-password";
  const run = runJob(good, { ...env, DATABASE_URL: url.href });
  expect(run.status).not.toBe(0);
  // PgBouncer checks the password against its userlist and answers with its own message.
  expect(run.output).toMatch(
    new RegExp(
      `connection to server at "127\\.0\\.0\\.1", port ${servers!.bouncerPort} failed: ` +
        "FATAL: +SASL authentication failed",
    ),
  );
  expect(run.bouncerLog).toMatch(/password authentication failed/);
});
