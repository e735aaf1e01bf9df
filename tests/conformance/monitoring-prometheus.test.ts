/**
 * A real Prometheus (built from its Go module by scripts/install-monitoring-tools.sh, the version
 * the cluster runs) with the dev stack's generated scrape and rule configuration, scraping the real
 * exporters on loopback: Debian's postgres-exporter with the generated custom queries, Debian's
 * redis_exporter, RabbitMQ's prometheus plugin, and pgbouncer_exporter (built from its Go module at
 * the image's version) next to Debian's PgBouncer with the generated pgbouncer.ini, logging in
 * with the connection string the PgBouncer component puts in its Secret. The rewrite is only this: Kubernetes service
 * discovery of pods is replaced by static targets carrying the labels it would discover, built
 * from the dev stack's own pod templates (annotations and labels), with the pod IP and the
 * annotated port pointed at the exporter on loopback; the kubelet, cAdvisor and API server jobs
 * (no kubelet here) and the Alertmanager address go; the intervals (and the scrape timeout) shrink to 2 s so that the
 * tier stays fast. The relabelling and the rules run as generated.
 */
import { ChildProcess, execFileSync, spawn } from "child_process";
import * as fs from "fs";
import * as http from "http";
import * as path from "path";
import * as amqp from "amqplib";
import { parse, stringify } from "yaml";
import { exporterQueries } from "../../components/data/postgres-config";
import { redisAuthConf, redisConf } from "../../components/data/redis-config";
import { allDashboards } from "../../components/monitoring/dashboards";
import { CADVISOR_KEEP, KUBELET_KEEP } from "../../components/monitoring/prometheus-config";
import { KSM_DOCUMENTED_METRICS, OTHER_SOURCES } from "./documented-metrics";
import { ofKind, only, planStack, RecordedResource, resolvedEnv } from "../helpers/program";
import {
  BackupPostgres,
  freePort,
  patchOnce,
  PostgresExporter,
  postgresBin,
  RabbitServer,
  requireBinary,
  startAs,
  startBackupPostgres,
  startPostgresExporter,
  startRabbitMQ,
  startServicePostgres,
  ServicePostgres,
  stop,
  tempDirFor,
  waitFor,
  writeFor,
} from "./servers";
import { monitoringTool, parsePromQL } from "./promql";

const prometheusBin = monitoringTool("prometheus");
const pgbouncerExporterBin = execFileSync(
  "bash",
  ["scripts/install-monitoring-tools.sh", "--pgbouncer-exporter"],
  { encoding: "utf8" },
).trim();

let pg: BackupPostgres | undefined;
let pgExporter: PostgresExporter | undefined;
let redisServer: ChildProcess | undefined;
let redisExporter: ChildProcess | undefined;
let nodeExporter: ChildProcess | undefined;
let rabbit: RabbitServer | undefined;
let bouncer: ServicePostgres | undefined;
let pgbouncerExporter: ChildProcess | undefined;
const ANALYSIS_DB_PASSWORD = "analysis-Secret-5";
let prometheus: ChildProcess | undefined;
let dir: string;
let promUrl: string;
let generated: Record<string, unknown>;
let rewritten: Record<string, unknown>;
/** Loopback port of each exporter, by the pod's app.kubernetes.io/name. */
const exporterPorts: Record<string, number> = {};
const REDIS_PASSWORD = "redis-Secret-9";

function get(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { agent: false, timeout: 10_000 }, (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (c: string) => (body += c));
        res.on("end", () =>
          res.statusCode === 200
            ? resolve(body)
            : reject(new Error(`GET ${url}: ${res.statusCode} ${body}`)),
        );
      })
      .on("error", reject);
  });
}
const api = async <T>(p: string): Promise<T> =>
  (JSON.parse(await get(`${promUrl}${p}`)) as { data: T }).data;

/** The discovery labels Kubernetes SD would give the pod of this workload (role: pod). */
function discovered(w: RecordedResource, port: number): Record<string, string> {
  const t = (w.inputs.spec as any).template;
  const sanitize = (k: string) => k.replace(/[^a-zA-Z0-9_]/g, "_");
  const meta = w.inputs.metadata as any;
  return {
    __meta_kubernetes_namespace: meta.namespace,
    __meta_kubernetes_pod_name: `${meta.labels["app.kubernetes.io/name"]}-0`,
    __meta_kubernetes_pod_node_name: "pi-dev-1",
    __meta_kubernetes_pod_phase: "Running",
    __meta_kubernetes_pod_ip: "127.0.0.1",
    ...Object.fromEntries(
      Object.entries(t.metadata.labels as Record<string, string>).map(([k, v]) => [
        `__meta_kubernetes_pod_label_${sanitize(k)}`,
        v,
      ]),
    ),
    ...Object.fromEntries(
      Object.entries(t.metadata.annotations as Record<string, string>).map(([k, v]) => [
        `__meta_kubernetes_pod_annotation_${sanitize(k)}`,
        k === "prometheus.io/port" ? String(port) : v,
      ]),
    ),
  };
}

beforeAll(async () => {
  // The directory belongs to redis (its config and log are here); Prometheus runs as root, since
  // its binary sits in root's cache.
  dir = tempDirFor("redis", "prometheus-conformance-");
  const plan = (await planStack("dev")).resources;
  const files = only(plan, "kubernetes:core/v1:ConfigMap", "monitoring-prometheus-config").inputs
    .data as Record<string, string>;
  generated = parse(files["prometheus.yml"]!);

  // PostgreSQL with the generated monitoring role and exporter queries; a backup to verify later.
  pg = await startBackupPostgres("prometheus-pg-");
  pg.newKey(path.join(pg.dir, "key.txt"));
  pg.newKey(path.join(pg.dir, "other-key.txt"));
  pg.seed("audit_log_analysis", 100);
  pg.writeScripts();
  pgExporter = await startPostgresExporter({
    dir: pg.dir,
    dsn: pg.monitorDsn,
    queries: exporterQueries(),
  });
  exporterPorts.postgres = Number(new URL(pgExporter.url).port);

  // Redis with the generated configuration and its exporter, as the Redis component pairs them.
  const redisPort = await freePort();
  writeFor("redis", path.join(dir, "auth.conf"), redisAuthConf(REDIS_PASSWORD));
  writeFor(
    "redis",
    path.join(dir, "redis.conf"),
    patchOnce(
      redisConf({
        maxMemory: "50mb",
        maxMemoryPolicy: "allkeys-lru",
        persistence: "none",
        port: redisPort,
        authInclude: path.join(dir, "auth.conf"),
        dir,
      }),
      "bind 0.0.0.0",
      "bind 127.0.0.1",
    ),
  );
  redisServer = startAs(
    "redis",
    requireBinary("/usr/bin/redis-server", "redis-server"),
    [path.join(dir, "redis.conf")],
    path.join(dir, "redis.log"),
  );
  exporterPorts.redis = await freePort();
  redisExporter = startAs(
    "redis",
    requireBinary("/usr/bin/prometheus-redis-exporter", "prometheus-redis-exporter"),
    [
      `--redis.addr=redis://127.0.0.1:${redisPort}`,
      `--web.listen-address=127.0.0.1:${exporterPorts.redis}`,
    ],
    path.join(dir, "redis-exporter.log"),
    { env: { REDIS_PASSWORD } },
  );

  // RabbitMQ with the generated configuration, definitions and prometheus plugin.
  const analysis = {
    service: "audit-log-analysis",
    name: "audit_log_analysis",
    publishes: false,
    consumes: "audit.analysis",
    password: "ana-Secret-2",
  };
  rabbit = await startRabbitMQ({
    prefix: "prometheus-rabbit-",
    users: [analysis],
    queues: [{ name: "audit.analysis", bindingKey: "audit.#" }],
    ready: async (p) => {
      const c = await amqp.connect(
        `amqp://${analysis.name}:${analysis.password}@127.0.0.1:${p}/auditflow`,
      );
      await c.close();
      return true;
    },
  });
  exporterPorts.rabbitmq = rabbit.prometheusPort;

  // PgBouncer with the generated pgbouncer.ini in front of PostgreSQL, and pgbouncer_exporter with
  // the environment the PgBouncer Deployment gives it: the stats user and password come from the
  // program's Secret; only the port changes to the loopback PgBouncer's.
  const bouncerDeployment = only(plan, "kubernetes:apps/v1:Deployment", "pgbouncer");
  const exporterContainer = (bouncerDeployment.inputs.spec as any).template.spec.containers.find(
    (c: any) => c.name === "exporter",
  );
  const exporterEnv = resolvedEnv(plan, bouncerDeployment, exporterContainer, "pgbouncer exporter");
  const dsn = new URL(exporterEnv.PGBOUNCER_EXPORTER_CONNECTION_STRING!);
  expect([dsn.hostname, dsn.port, dsn.pathname]).toEqual(["127.0.0.1", "6432", "/pgbouncer"]);
  bouncer = await startServicePostgres({
    prefix: "prometheus-bouncer-",
    tuning: { memoryLimit: "512Mi", maxConnections: 50 },
    passwords: { "audit-log-analysis": ANALYSIS_DB_PASSWORD },
    monitoring: { role: "auditflow_monitor", password: "monitor-Secret-4" },
    pgbouncerStats: { user: dsn.username, password: decodeURIComponent(dsn.password) },
  });
  dsn.port = String(bouncer.bouncerPort);
  exporterPorts.pgbouncer = await freePort();
  // As root, like Prometheus: the binary sits in root's cache.
  pgbouncerExporter = startAs(
    "root",
    pgbouncerExporterBin,
    (exporterContainer.args as string[]).map((a) =>
      a.startsWith("--web.listen-address=")
        ? `--web.listen-address=127.0.0.1:${exporterPorts.pgbouncer}`
        : a,
    ),
    path.join(dir, "pgbouncer-exporter.log"),
    { env: { ...exporterEnv, PGBOUNCER_EXPORTER_CONNECTION_STRING: dsn.toString() } },
  );

  // node-exporter on this machine, as the DaemonSet runs it on each node.
  exporterPorts["node-exporter"] = await freePort();
  nodeExporter = startAs(
    "nobody",
    requireBinary("/usr/bin/prometheus-node-exporter", "prometheus-node-exporter"),
    [`--web.listen-address=127.0.0.1:${exporterPorts["node-exporter"]}`],
    path.join(dir, "node-exporter.log"),
  );

  // The generated configuration, rewritten as the file's header says.
  const workloads = [
    ...ofKind(plan, "StatefulSet"),
    ...ofKind(plan, "Deployment"),
    ...ofKind(plan, "DaemonSet"),
  ].filter((w) =>
    Object.keys(exporterPorts).includes(
      (w.inputs.metadata as any).labels?.["app.kubernetes.io/name"],
    ),
  );
  expect(workloads).toHaveLength(5);
  const pods = (generated.scrape_configs as any[]).find((j) => j.job_name === "pods");
  const { kubernetes_sd_configs: _sd, ...podsJob } = pods;
  rewritten = {
    ...generated,
    global: {
      ...(generated.global as object),
      scrape_interval: "2s",
      evaluation_interval: "2s",
      scrape_timeout: "2s",
    },
    rule_files: [path.join(dir, "rules.yml")],
    alerting: undefined,
    scrape_configs: [
      {
        ...podsJob,
        static_configs: workloads.map((w) => {
          const name = (w.inputs.metadata as any).labels["app.kubernetes.io/name"];
          // The discovered address is the pod IP and its first port; relabelling replaces it.
          return { targets: ["127.0.0.1:1"], labels: discovered(w, exporterPorts[name]!) };
        }),
      },
    ],
  };
  fs.writeFileSync(path.join(dir, "rules.yml"), files["rules.yml"]!);
  fs.writeFileSync(path.join(dir, "prometheus.yml"), stringify(rewritten));
  const port = await freePort();
  promUrl = `http://127.0.0.1:${port}`;
  prometheus = startAs(
    "root",
    prometheusBin,
    [
      `--config.file=${path.join(dir, "prometheus.yml")}`,
      `--storage.tsdb.path=${path.join(dir, "data")}`,
      `--web.listen-address=127.0.0.1:${port}`,
    ],
    path.join(dir, "prometheus.log"),
  );
  try {
    await waitFor(
      "prometheus to be ready",
      async () => (await get(`${promUrl}/-/ready`)).length > 0,
      60_000,
    );
  } catch (e) {
    const log = fs.readFileSync(path.join(dir, "prometheus.log"), "utf8");
    (e as Error).message += `\n--- prometheus.log:\n${log.split("\n").slice(-15).join("\n")}`;
    throw e;
  }
}, 240_000);

afterAll(async () => {
  await stop(prometheus);
  await stop(redisExporter);
  await stop(nodeExporter);
  await stop(pgbouncerExporter);
  await bouncer?.stop();
  await stop(redisServer);
  await rabbit?.stop();
  await pgExporter?.stop();
  await pg?.stop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
}, 90_000);

test("the rewrite changes only discovery and addresses: the relabelling and rules are the generated ones", () => {
  const before = (generated.scrape_configs as any[]).find((j) => j.job_name === "pods");
  const after = (rewritten.scrape_configs as any[])[0];
  expect(before.kubernetes_sd_configs).toBeDefined();
  expect(after.kubernetes_sd_configs).toBeUndefined();
  expect(after.relabel_configs).toEqual(before.relabel_configs);
  // The annotated ports (9187, 9121, 15692, 9127 in the pods) now name the exporters on loopback.
  const ports = after.static_configs.map(
    (s: any) => s.labels.__meta_kubernetes_pod_annotation_prometheus_io_port,
  );
  expect(ports.sort()).toEqual(Object.values(exporterPorts).map(String).sort());
  expect(ports).not.toContain("9187");
});

test("Prometheus scrapes postgres, pgbouncer, redis, rabbitmq and node-exporter through the generated relabelling: job, namespace, pod, node and path", async () => {
  await waitFor(
    "every target to be up",
    async () => {
      const t = await api<{ activeTargets: { health: string }[] }>("/api/v1/targets");
      return t.activeTargets.length === 5 && t.activeTargets.every((x) => x.health === "up");
    },
    60_000,
  );
  const t = await api<{ activeTargets: { labels: Record<string, string>; scrapeUrl: string }[] }>(
    "/api/v1/targets",
  );
  const byJob = Object.fromEntries(t.activeTargets.map((x) => [x.labels.job, x]));
  expect(Object.keys(byJob).sort()).toEqual([
    "node-exporter",
    "pgbouncer",
    "postgres",
    "rabbitmq",
    "redis",
  ]);
  expect(byJob.postgres!.scrapeUrl).toBe(`http://127.0.0.1:${exporterPorts.postgres}/metrics`);
  expect(byJob.rabbitmq!.scrapeUrl).toBe(`http://127.0.0.1:${exporterPorts.rabbitmq}/metrics`);
  expect(byJob.redis!.labels).toMatchObject({
    namespace: "auditflow-data",
    pod: "redis-0",
    node: "pi-dev-1",
  });
}, 90_000);

test("the rules evaluate on the real series without errors; healthy exporters fire nothing but Watchdog", async () => {
  await waitFor("the rules to have evaluated", async () => {
    const g = await api<{ groups: { lastEvaluation: string }[] }>("/api/v1/rules");
    return g.groups.every((x) => !x.lastEvaluation.startsWith("0001"));
  });
  const g = await api<{
    groups: { rules: { name: string; health: string; lastError?: string }[] }[];
  }>("/api/v1/rules");
  const unhealthy = g.groups.flatMap((x) => x.rules).filter((r) => r.health !== "ok");
  expect(unhealthy).toEqual([]);
  // Pending alerts may depend on this machine (a disk over 80%); none has fired yet but Watchdog.
  const alerts = await api<{ alerts: { labels: Record<string, string>; state: string }[] }>(
    "/api/v1/alerts",
  );
  expect(alerts.alerts.filter((a) => a.state === "firing").map((a) => a.labels.alertname)).toEqual([
    "Watchdog",
  ]);
});

test("after a failed backup verification BackupVerificationFailed becomes pending", async () => {
  const env = {
    BACKUP_DATABASES: "audit_log_analysis",
    BACKUP_RECIPIENTS: fs.readFileSync(path.join(pg!.dir, "key.txt"), "utf8").match(/age1\w+/)![0],
  };
  expect(pg!.runScript(path.join(pg!.dir, "backup.sh"), env).code).toBe(0);
  const v = pg!.runScript(path.join(pg!.dir, "verify.sh"), {
    AGE_IDENTITY_FILE: path.join(pg!.dir, "other-key.txt"),
  });
  expect(v.code).toBe(1);
  await waitFor(
    "BackupVerificationFailed to be pending",
    async () => {
      const a = await api<{ alerts: { labels: Record<string, string>; state: string }[] }>(
        "/api/v1/alerts",
      );
      return a.alerts.some(
        (x) => x.labels.alertname === "BackupVerificationFailed" && x.state === "pending",
      );
    },
    30_000,
  );
  const a = await api<{ alerts: { labels: Record<string, string>; state: string }[] }>(
    "/api/v1/alerts",
  );
  expect(
    a.alerts.find((x) => x.labels.alertname === "BackupVerificationFailed")!.labels,
  ).toMatchObject({
    severity: "critical",
    job: "postgres",
    namespace: "auditflow-data",
  });
}, 60_000);

test("every metric a dashboard uses is in the real exporters' scrape output, a recording rule or the documented list", async () => {
  const scraped = new Set<string>();
  for (const port of Object.values(exporterPorts)) {
    const text = await get(`http://127.0.0.1:${port}${"/metrics"}`);
    for (const m of text.matchAll(/^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{| )/gm)) scraped.add(m[1]!);
  }
  // Histograms: the _bucket/_count/_sum series of a documented family.
  const recorded = new Set(
    (parse(fs.readFileSync(path.join(dir, "rules.yml"), "utf8")).groups as any[]).flatMap((g) =>
      g.rules.filter((r: any) => r.record).map((r: any) => r.record as string),
    ),
  );
  const documented = new Set([
    ...KSM_DOCUMENTED_METRICS,
    ...CADVISOR_KEEP,
    ...KUBELET_KEEP,
    ...Object.keys(OTHER_SOURCES),
  ]);
  const exprs = Object.values(
    allDashboards({
      apps: "auditflow",
      data: "auditflow-data",
      deadLetterQueue: "audit.dead-letter",
    }),
  ).flatMap((d) =>
    ((d.panels ?? []) as any[])
      .flatMap((p) => (p.targets ?? []) as any[])
      .filter((t) => t.datasource.type === "prometheus")
      .map((t) => t.expr as string),
  );
  const used = new Set(parsePromQL(exprs).flatMap((p) => p.metrics));
  const unknown = [...used].filter(
    (m) =>
      !scraped.has(m) && !recorded.has(m) && !documented.has(m) && m !== "ALERTS" && m !== "up",
  );
  expect(unknown).toEqual([]);
  // The data exporters' metrics come from the real scrapes, not the documented list.
  for (const m of [
    "pg_up",
    "pg_stat_activity_count",
    "redis_memory_used_bytes",
    "rabbitmq_queue_messages",
    "auditflow_backup_verify_success",
    "pgbouncer_pools_client_waiting_connections",
  ]) {
    expect([m, scraped.has(m), documented.has(m)]).toEqual([m, true, false]);
  }
}, 60_000);

test("clients queueing in a full PgBouncer pool show in pgbouncer_exporter's series and make PgBouncerClientsWaiting pending", async () => {
  // The pool holds default_pool_size (5) + reserve_pool_size (1) server connections; in
  // transaction pooling each open transaction keeps one, so the last 3 of 9 clients wait.
  const psql = path.join(postgresBin(), "psql");
  const clients = Array.from({ length: 9 }, () =>
    spawn(
      psql,
      ["-X", "-h", "127.0.0.1", "-p", String(bouncer!.bouncerPort), "-U", "audit_log_analysis"],
      {
        env: { ...process.env, PGPASSWORD: ANALYSIS_DB_PASSWORD, PGDATABASE: "audit_log_analysis" },
        stdio: ["pipe", "ignore", "ignore"],
      },
    ),
  );
  for (const c of clients) c.stdin!.end("begin; select pg_sleep(25); commit;\n");
  try {
    const query = encodeURIComponent(
      'pgbouncer_pools_client_waiting_connections{job="pgbouncer",database="audit_log_analysis"}',
    );
    await waitFor(
      "PgBouncerClientsWaiting to be pending",
      async () => {
        const a = await api<{ alerts: { labels: Record<string, string>; state: string }[] }>(
          "/api/v1/alerts",
        );
        return a.alerts.some(
          (x) => x.labels.alertname === "PgBouncerClientsWaiting" && x.state === "pending",
        );
      },
      20_000,
    );
    const r = await api<{ result: { metric: Record<string, string>; value: [number, string] }[] }>(
      `/api/v1/query?query=${query}`,
    );
    expect(r.result).toHaveLength(1);
    expect(r.result[0]!.metric).toMatchObject({
      namespace: "auditflow-data",
      user: "audit_log_analysis",
    });
    expect(Number(r.result[0]!.value[1])).toBeGreaterThan(0);
    const a = await api<{ alerts: { labels: Record<string, string> }[] }>("/api/v1/alerts");
    expect(
      a.alerts.find((x) => x.labels.alertname === "PgBouncerClientsWaiting")!.labels,
    ).toMatchObject({
      severity: "warning",
      namespace: "auditflow-data",
      database: "audit_log_analysis",
    });
  } finally {
    for (const c of clients) c.kill();
  }
}, 60_000);
