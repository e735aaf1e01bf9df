/**
 * PostgreSQL and PgBouncer, started with exactly the files the components generate: each service's
 * role can use its own database and is refused on another's; PgBouncer admits the generated
 * credentials and refuses a wrong password.
 */
import { execFileSync } from "child_process";
import * as path from "path";
import { databaseName } from "../../components/data/postgres-config";
import { postgresBin, requireBinary, ServicePostgres, startServicePostgres } from "./servers";

const SERVICES = ["audit-log-analysis", "event-audit-dashboard"];
const dbs = SERVICES.map((service) => ({ service, name: databaseName(service) }));
const passwords: Record<string, string> = {
  audit_log_analysis: "analysis-Secret-1",
  event_audit_dashboard: "dashboard-Secret-2",
  auditflow_monitor: "monitor-Secret-3",
};
const psql = requireBinary(path.join(postgresBin(), "psql"), "postgresql-client");

let servers: ServicePostgres | undefined;
let pgPort: number;
let bouncerPort: number;

/** Runs SQL over TCP as a role; returns stdout or throws with the server's message. */
function sql(port: number, user: string, password: string, db: string, query: string): string {
  return execFileSync(
    psql,
    ["-h", "127.0.0.1", "-p", String(port), "-U", user, "-d", db, "-tAc", query],
    {
      env: { ...process.env, PGPASSWORD: password, PGCONNECT_TIMEOUT: "5" },
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
    },
  ).trim();
}

function sqlError(
  port: number,
  user: string,
  password: string,
  db: string,
  query = "select 1",
): string {
  try {
    sql(port, user, password, db, query);
  } catch (e) {
    return String((e as { stderr?: string }).stderr ?? e);
  }
  throw new Error(`expected ${user} to be refused on ${db}`);
}

beforeAll(async () => {
  servers = await startServicePostgres({
    prefix: "pg-conformance-",
    tuning: { memoryLimit: "512Mi", maxConnections: 50 },
    passwords: Object.fromEntries(dbs.map((d) => [d.service, passwords[d.name]!])),
    monitoring: { role: "auditflow_monitor", password: passwords.auditflow_monitor! },
  });
  pgPort = servers.pgPort;
  bouncerPort = servers.bouncerPort;
}, 90_000);

afterAll(async () => {
  await servers?.stop();
}, 40_000);

test("the generated postgresql.conf is the one the server runs with", () => {
  const q = (name: string) =>
    sql(
      pgPort,
      "audit_log_analysis",
      passwords.audit_log_analysis!,
      "audit_log_analysis",
      `show ${name}`,
    );
  expect(q("shared_buffers")).toBe("128MB");
  expect(q("effective_cache_size")).toBe("256MB");
  expect(q("max_connections")).toBe("50");
  expect(q("password_encryption")).toBe("scram-sha-256");
});

test.each(dbs)("$name can create and use tables in its own database", ({ name }) => {
  const pw = passwords[name]!;
  sql(pgPort, name, pw, name, "create table audit_event (id serial primary key, body text)");
  sql(pgPort, name, pw, name, "insert into audit_event (body) values ('x')");
  expect(sql(pgPort, name, pw, name, "select count(*) from audit_event")).toBe("1");
});

test("a service is refused on another service's database", () => {
  expect(
    sqlError(pgPort, "audit_log_analysis", passwords.audit_log_analysis!, "event_audit_dashboard"),
  ).toMatch(
    /no pg_hba.conf entry for host "127.0.0.1", user "audit_log_analysis", database "event_audit_dashboard"/,
  );
  expect(
    sqlError(pgPort, "event_audit_dashboard", passwords.event_audit_dashboard!, "postgres"),
  ).toMatch(/no pg_hba.conf entry/);
});

test("even with a permissive pg_hba, the database itself refuses other roles (CONNECT revoked)", () => {
  // Inside the server, as the superuser over the socket: the grants, not only pg_hba, isolate databases.
  const out = servers!.superuser(
    "postgres",
    "select has_database_privilege('audit_log_analysis', 'event_audit_dashboard', 'CONNECT')",
  );
  expect(out).toBe("f");
});

test("a wrong password is refused", () => {
  expect(sqlError(pgPort, "audit_log_analysis", "wrong", "audit_log_analysis")).toMatch(
    /password authentication failed/,
  );
});

test("the monitoring role may read statistics and nothing else", () => {
  const pw = passwords.auditflow_monitor!;
  expect(
    Number(
      sql(pgPort, "auditflow_monitor", pw, "postgres", "select count(*) from pg_stat_database"),
    ),
  ).toBeGreaterThan(0);
  expect(sqlError(pgPort, "auditflow_monitor", pw, "audit_log_analysis")).toMatch(
    /no pg_hba.conf entry/,
  );
});

test("PgBouncer admits the generated credentials in transaction pooling mode", () => {
  const name = "event_audit_dashboard";
  expect(
    sql(
      bouncerPort,
      name,
      passwords[name]!,
      name,
      "select current_user || '@' || current_database()",
    ),
  ).toBe("event_audit_dashboard@event_audit_dashboard");
});

test("PgBouncer refuses a wrong password", () => {
  expect(sqlError(bouncerPort, "audit_log_analysis", "nope", "audit_log_analysis")).toMatch(
    /password authentication failed|SASL authentication failed/,
  );
});

test("PgBouncer does not route a service to another service's database", () => {
  expect(
    sqlError(
      bouncerPort,
      "audit_log_analysis",
      passwords.audit_log_analysis!,
      "event_audit_dashboard",
    ),
  ).toMatch(
    /no pg_hba.conf entry for host "127.0.0.1", user "audit_log_analysis", database "event_audit_dashboard"/,
  );
});
