/** The data and messaging components under Pulumi mocks: shapes, secrets and argument errors. */
import * as pulumi from "@pulumi/pulumi";
import { PgBouncer } from "../../components/data/pgbouncer";
import { Postgres } from "../../components/data/postgres";
import { Redis } from "../../components/data/redis";
import { PostgresBackup } from "../../components/data/postgres-backup";
import { Migration } from "../../components/data/migration";
import { RabbitMQ } from "../../components/messaging/rabbitmq";
import { MONITORING_ROLE, postgresqlConf } from "../../components/data/postgres-config";
import { redisConf } from "../../components/data/redis-config";
import {
  definitions,
  enabledPlugins,
  rabbitmqConf,
} from "../../components/messaging/rabbitmq-config";
import {
  BACKUP_RECIPIENT,
  backupArgs,
  expectRejectedBeforeCreating,
  only,
  runComponent,
} from "../helpers/program";

const small = {
  requests: { cpu: "50m", memory: "128Mi" },
  limits: { cpu: "500m", memory: "256Mi" },
};
const peer = (name: string) => ({
  podLabels: { "app.kubernetes.io/name": name },
  namespace: "auditflow",
});

describe("Postgres", () => {
  test("a StatefulSet with config, init script, credentials Secret and exporter", async () => {
    let pg: Postgres | undefined;
    const rs = await runComponent(() => {
      pg = new Postgres("postgres", {
        namespace: "data",
        services: ["audit-log-analysis", "event-audit-dashboard"],
        storage: "5Gi",
        maxConnections: 50,
        resources: small,
        clients: [peer("pgbouncer")],
      });
    });
    const sts = only(rs, "kubernetes:apps/v1:StatefulSet");
    const pod = (sts.inputs.spec as any).template.spec;
    expect(pod.containers.map((c: any) => c.name)).toEqual(["postgres", "exporter"]);
    expect(pod.securityContext.runAsUser).toBe(70);
    expect((sts.inputs.spec as any).volumeClaimTemplates[0].spec.resources.requests.storage).toBe(
      "5Gi",
    );
    const cm = rs.find((r) => r.name === "postgres-config")!;
    expect((cm.inputs.data as any)["postgresql.conf"]).toMatch(/shared_buffers = 64MB/);
    expect((cm.inputs.data as any)["10-auditflow-databases.sh"]).toMatch(
      /CREATE DATABASE audit_log_analysis OWNER audit_log_analysis/,
    );
    expect((cm.inputs.data as any)["10-auditflow-databases.sh"]).not.toMatch(/mock-/);
    // The exporter loads the generated custom queries (the backup verification metrics) from a
    // read-only mount of the same ConfigMap, and stays as hardened as the helper makes it.
    const exporter = pod.containers.find((c: any) => c.name === "exporter");
    expect(exporter.args).toEqual(["--extend.query-path=/etc/postgres-exporter/queries.yaml"]);
    expect(exporter.volumeMounts).toContainEqual({
      name: "exporter-queries",
      mountPath: "/etc/postgres-exporter",
      readOnly: true,
    });
    expect(pod.volumes.find((v: any) => v.name === "exporter-queries").configMap.items).toEqual([
      { key: "exporter-queries.yaml", path: "queries.yaml" },
    ]);
    const queries = (cm.inputs.data as any)["exporter-queries.yaml"];
    expect(queries).toMatch(/^auditflow_backup_verify:\n/m);
    expect(queries).toMatch(/- success:\n\s+usage: GAUGE/);
    expect(queries).toMatch(/- timestamp_seconds:\n\s+usage: GAUGE/);
    expect(exporter.securityContext).toMatchObject({
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ["ALL"] },
    });
    const secret = rs.find((r) => r.name === "postgres-credentials")!;
    expect(secret.secretPaths).toEqual(["stringData"]);
    expect(Object.keys(secret.inputs.stringData as object).sort()).toEqual([
      "AUDIT_LOG_ANALYSIS_PASSWORD",
      "EVENT_AUDIT_DASHBOARD_PASSWORD",
      "MONITOR_PASSWORD",
      "POSTGRES_PASSWORD",
    ]);
    expect(await pulumi.isSecret(pg!.passwords["audit-log-analysis"]!)).toBe(true);
    const np = rs.find((r) => r.type.endsWith("NetworkPolicy") && r.name === "postgres")!;
    expect((np.inputs.spec as any).ingress).toEqual([
      {
        from: [
          {
            podSelector: { matchLabels: { "app.kubernetes.io/name": "pgbouncer" } },
            namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "auditflow" } },
          },
        ],
        ports: [{ protocol: "TCP", port: 5432 }],
      },
      {
        from: [
          {
            podSelector: {},
            namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "monitoring" } },
          },
        ],
        ports: [{ protocol: "TCP", port: 9187 }],
      },
    ]);
  });

  test("rejects bad arguments before creating anything", async () => {
    const base = { namespace: "data", storage: "5Gi", maxConnections: 50, resources: small };
    await expectRejectedBeforeCreating(
      () => new Postgres("pg", { ...base, services: [] }),
      /services must list at least one service/,
    );
    await expectRejectedBeforeCreating(
      () => new Postgres("pg", { ...base, services: ["x"], maxConnections: 5 }),
      /maxConnections must be a whole number from 10 to 1000 \(got 5\)/,
    );
    await expectRejectedBeforeCreating(
      () =>
        new Postgres("pg", {
          ...base,
          services: ["x"],
          resources: { ...small, limits: { cpu: "1", memory: "64Mi" } },
        }),
      /memory limit must be at least 128Mi \(got 64Mi\)/,
    );
  });
});

describe("PgBouncer", () => {
  const bouncerArgs = () => ({
    namespace: "data",
    postgres: { host: "postgres.data.svc.cluster.local", port: 5432, peer: peer("postgres") },
    passwords: { "audit-log-analysis": pulumi.secret("pw-1") },
    clientNamespace: "auditflow",
    clients: [peer("audit-log-analysis")],
    defaultPoolSize: 10,
    maxClientConn: 100,
    resources: small,
  });

  test("offers each service a contract backed by a Secret in the service's namespace", async () => {
    let bouncer: PgBouncer | undefined;
    const rs = await runComponent(() => {
      bouncer = new PgBouncer("pgbouncer", bouncerArgs());
    });
    const conn = bouncer!.connections["audit-log-analysis"]!;
    expect(conn).toMatchObject({
      kind: "postgres",
      port: 6432,
      database: "audit_log_analysis",
      username: "audit_log_analysis",
    });
    const secret = rs.find((r) => r.name === "pgbouncer-audit-log-analysis")!;
    expect((secret.inputs.metadata as any).namespace).toBe("auditflow");
    expect(secret.secretPaths).toEqual(["stringData"]);
    expect((secret.inputs.stringData as any).url).toBe(
      "postgresql://audit_log_analysis:pw-1@pgbouncer.data.svc.cluster.local:6432/audit_log_analysis?sslmode=disable",
    );
    const ini = (rs.find((r) => r.name === "pgbouncer-config")!.inputs.data as any)[
      "pgbouncer.ini"
    ];
    expect(ini).toMatch(/pool_mode = transaction/);
    expect(ini).toMatch(
      /audit_log_analysis = host=postgres.data.svc.cluster.local port=5432 dbname=audit_log_analysis/,
    );
    expect(only(rs, "kubernetes:core/v1:Secret", "pgbouncer-auth").secretPaths).toEqual([
      "stringData",
    ]);
  });

  test("runs pgbouncer_exporter as the stats-only user, its DSN only in the auth Secret, scraped on 9127", async () => {
    const rs = await runComponent(() => new PgBouncer("pgbouncer", bouncerArgs()));
    const ini = (only(rs, "kubernetes:core/v1:ConfigMap", "pgbouncer-config").inputs.data as any)[
      "pgbouncer.ini"
    ];
    expect(ini).toMatch(/^stats_users = pgbouncer_exporter$/m);
    expect(ini).toMatch(/^admin_users =$/m);
    const auth = only(rs, "kubernetes:core/v1:Secret", "pgbouncer-auth");
    const data = auth.inputs.stringData as Record<string, string>;
    const dsn = new URL(data["exporter-dsn"]!);
    expect([dsn.username, dsn.host, dsn.pathname]).toEqual([
      "pgbouncer_exporter",
      "127.0.0.1:6432",
      "/pgbouncer",
    ]);
    // The same generated password is in the userlist PgBouncer checks.
    expect(data["userlist.txt"]).toContain(`"pgbouncer_exporter" "${dsn.password}"`);
    const pod = (only(rs, "kubernetes:apps/v1:Deployment", "pgbouncer").inputs.spec as any)
      .template;
    const exporter = pod.spec.containers.find((c: any) => c.name === "exporter");
    expect(exporter.env).toEqual([
      {
        name: "PGBOUNCER_EXPORTER_CONNECTION_STRING",
        valueFrom: {
          secretKeyRef: { name: (auth.state.metadata as any).name, key: "exporter-dsn" },
        },
      },
    ]);
    // Only the userlist is mounted as a file; the DSN stays out of PgBouncer's container.
    const authVolume = pod.spec.volumes.find((v: any) => v.name === "auth");
    expect(authVolume.secret.items).toEqual([{ key: "userlist.txt", path: "userlist.txt" }]);
    expect(pod.metadata.annotations).toMatchObject({
      "prometheus.io/scrape": "true",
      "prometheus.io/port": "9127",
    });
    const policy = only(rs, "kubernetes:networking.k8s.io/v1:NetworkPolicy", "pgbouncer");
    const metricsRule = (policy.inputs.spec as any).ingress.find((r: any) =>
      r.ports.some((p: any) => p.port === 9127),
    );
    expect(metricsRule.from).toEqual([
      {
        namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "monitoring" } },
        podSelector: {},
      },
    ]);
  });
});

describe("Redis", () => {
  test("keeps the password in a Secret include and gives each client its database", async () => {
    let redis: Redis | undefined;
    const rs = await runComponent(() => {
      redis = new Redis("redis", {
        namespace: "data",
        maxMemory: "50mb",
        maxMemoryPolicy: "allkeys-lru",
        persistence: "none",
        resources: small,
        clients: {
          "audit-log-analysis": { db: 0, peer: peer("a") },
          "event-audit-dashboard": { db: 1, peer: peer("d") },
        },
        clientNamespace: "auditflow",
      });
    });
    const conf = (rs.find((r) => r.name === "redis-config")!.inputs.data as any)["redis.conf"];
    expect(conf).toMatch(/maxmemory 52428800/);
    expect(conf).toMatch(/include \/etc\/redis-auth\/auth.conf/);
    expect(conf).not.toMatch(/requirepass/);
    expect(redis!.connections["event-audit-dashboard"]).toMatchObject({
      kind: "redis",
      db: 1,
      port: 6379,
    });
    expect(rs.some((r) => r.type.endsWith(":Deployment") && r.name === "redis")).toBe(true);
  });

  test("rejects a maxmemory above 75% of the memory limit before creating anything", async () => {
    const base = {
      namespace: "d",
      maxMemoryPolicy: "allkeys-lru" as const,
      resources: small, // a 256Mi limit: 75% is 192Mi
      clientNamespace: "a",
      persistence: "none" as const,
      clients: {},
    };
    await expectRejectedBeforeCreating(
      () => new Redis("r", { ...base, maxMemory: "193mb" }),
      /maxMemory 193mb leaves too little headroom under the memory limit 256Mi \(at most 75% of it\)/,
    );
    const fits = await runComponent(() => new Redis("r", { ...base, maxMemory: "192mb" }));
    expect(fits.some((r) => r.type === "kubernetes:apps/v1:Deployment")).toBe(true);
  });

  test("requires storage for persistence and a valid database index", () => {
    const base = {
      namespace: "d",
      maxMemory: "50mb",
      maxMemoryPolicy: "allkeys-lru" as const,
      resources: small,
      clientNamespace: "a",
    };
    expect(() => new Redis("r", { ...base, persistence: "aof", clients: {} })).toThrow(
      /storage is required when persistence is "aof"/,
    );
    expect(
      () =>
        new Redis("r", {
          ...base,
          persistence: "none",
          clients: { x: { db: 16, peer: peer("x") } },
        }),
    ).toThrow(/clients.x.db must be a database index from 0 to 15 \(got 16\)/);
    expect(() =>
      redisConf({
        maxMemory: "1mb",
        maxMemoryPolicy: "lru" as any,
        persistence: "none",
        port: 1,
        authInclude: "/a",
        dir: "/d",
      }),
    ).toThrow(/maxMemoryPolicy "lru" must be one of noeviction/);
  });
});

describe("RabbitMQ", () => {
  const users = [
    {
      service: "audit-event-generator",
      name: "audit_event_generator",
      publishes: true,
      peer: peer("g"),
    },
    {
      service: "audit-log-analysis",
      name: "audit_log_analysis",
      publishes: false,
      consumes: "audit.analysis",
      peer: peer("a"),
    },
  ];
  const base = {
    namespace: "data",
    storage: "2Gi",
    memoryHighWatermark: 0.6,
    diskFreeLimit: "1GB",
    resources: small,
    users,
    queues: [{ name: "audit.analysis", bindingKey: "audit.#" }],
    clientNamespace: "auditflow",
  };

  test("one node: classic queues, no API access, definitions and cookie in a Secret", async () => {
    const rs = await runComponent(() => new RabbitMQ("rabbitmq", { ...base, replicas: 1 }));
    const defs = rs.find((r) => r.name === "rabbitmq-definitions")!;
    expect(defs.secretPaths).toEqual(["stringData"]);
    const doc = JSON.parse((defs.inputs.stringData as any)["definitions.json"]);
    expect(doc.queues.map((q: any) => q.arguments["x-queue-type"])).toEqual(["classic", "classic"]);
    expect(doc.permissions).toContainEqual({
      user: "audit_event_generator",
      vhost: "auditflow",
      configure: "^$",
      write: "^audit\\.events$",
      read: "^$",
    });
    expect(rs.some((r) => r.type.endsWith(":Role"))).toBe(false);
    const pod = (only(rs, "kubernetes:apps/v1:StatefulSet").inputs.spec as any).template.spec;
    expect(pod.automountServiceAccountToken).toBe(false);
    expect(pod.containers[0].readinessProbe.exec.command).toEqual([
      "rabbitmq-diagnostics",
      "-q",
      "check_port_connectivity",
    ]);
  });

  test("three nodes: quorum queues, peer discovery with a least-privilege Role", async () => {
    const rs = await runComponent(() => new RabbitMQ("rabbitmq", { ...base, replicas: 3 }));
    const defs = JSON.parse(
      (rs.find((r) => r.name === "rabbitmq-definitions")!.inputs.stringData as any)[
        "definitions.json"
      ],
    );
    expect(defs.queues.map((q: any) => q.arguments["x-queue-type"])).toEqual(["quorum", "quorum"]);
    expect((only(rs, "kubernetes:rbac.authorization.k8s.io/v1:Role").inputs as any).rules).toEqual([
      { apiGroups: [""], resources: ["endpoints"], verbs: ["get"] },
    ]);
    const conf = (rs.find((r) => r.name === "rabbitmq-config")!.inputs.data as any)[
      "rabbitmq.conf"
    ];
    expect(conf).toMatch(/cluster_formation.peer_discovery_backend = rabbit_peer_discovery_k8s/);
    expect(conf).toMatch(/total_memory_available_override_value = 268435456/);
    const sts = only(rs, "kubernetes:apps/v1:StatefulSet");
    expect((sts.inputs.spec as any).podManagementPolicy).toBe("Parallel");
  });

  test("enabled_plugins adds Kubernetes peer discovery only for a cluster", async () => {
    expect(enabledPlugins(false)).toBe("[rabbitmq_management,rabbitmq_prometheus].\n");
    expect(enabledPlugins(true)).toBe(
      "[rabbitmq_management,rabbitmq_prometheus,rabbitmq_peer_discovery_k8s].\n",
    );
    for (const replicas of [1, 3]) {
      const rs = await runComponent(() => new RabbitMQ("rabbitmq", { ...base, replicas }));
      const config = rs.find((r) => r.name === "rabbitmq-config")!;
      expect((config.inputs.data as any).enabled_plugins).toBe(enabledPlugins(replicas > 1));
    }
  });

  test("every object it creates carries the recommended labels; connection Secrets name their service", async () => {
    const rs = await runComponent(() => new RabbitMQ("rabbitmq", { ...base, replicas: 3 }));
    const k8sObjects = rs.filter((r) => r.custom && r.type.startsWith("kubernetes:"));
    expect(k8sObjects.length).toBeGreaterThan(8);
    for (const r of k8sObjects) {
      const labels = (r.inputs.metadata as any).labels;
      expect(Object.keys(labels)).toEqual(
        expect.arrayContaining([
          "app.kubernetes.io/name",
          "app.kubernetes.io/instance",
          "app.kubernetes.io/component",
          "app.kubernetes.io/part-of",
          "app.kubernetes.io/managed-by",
        ]),
      );
    }
    const own = rs.find((r) => r.name === "rabbitmq-peer-discovery" && r.type.endsWith(":Role"))!;
    expect((own.inputs.metadata as any).labels).toMatchObject({
      "app.kubernetes.io/name": "rabbitmq",
      "app.kubernetes.io/component": "message-broker",
    });
    const client = rs.find(
      (r) => r.name === "rabbitmq-audit-log-analysis" && r.type.endsWith(":Secret"),
    )!;
    expect((client.inputs.metadata as any).labels).toMatchObject({
      "app.kubernetes.io/name": "audit-log-analysis",
      "app.kubernetes.io/component": "credentials",
    });
  });

  test("rejects an even cluster and bad broker settings", () => {
    expect(() => new RabbitMQ("r", { ...base, replicas: 2 })).toThrow(
      /replicas must be 1 or an odd number such as 3 \(got 2\)/,
    );
    expect(() =>
      rabbitmqConf({
        memoryLimit: "1Gi",
        memoryHighWatermark: 1.5,
        diskFreeLimit: "1GB",
        definitionsPath: "/d",
      }),
    ).toThrow(/memoryHighWatermark must be between 0.1 and 0.9 \(got 1.5\)/);
    expect(() =>
      rabbitmqConf({
        memoryLimit: "1Gi",
        memoryHighWatermark: 0.5,
        diskFreeLimit: "lots",
        definitionsPath: "/d",
      }),
    ).toThrow(/diskFreeLimit "lots" must be a size/);
    expect(definitions({ users: [], queues: [], quorum: false }).vhosts).toEqual([
      { name: "auditflow" },
    ]);
  });
});

describe("Migration", () => {
  const database = {
    kind: "postgres" as const,
    host: "pgbouncer.data.svc.cluster.local",
    port: 6432,
    database: "audit_log_analysis",
    username: "audit_log_analysis",
    password: { name: "s", key: "password" },
    url: { name: "s", key: "url" },
    peer: peer("pgbouncer"),
  };
  test("a Job with the service's image, command and PgBouncer connection", async () => {
    const rs = await runComponent(
      () =>
        new Migration("analysis-migrate", {
          namespace: "auditflow",
          service: "audit-log-analysis",
          image: "ghcr.io/auditflow/audit-log-analysis:0.4.2",
          command: ["alembic", "upgrade", "head"],
          database,
        }),
    );
    const job = only(rs, "kubernetes:batch/v1:Job");
    const spec = job.inputs.spec as any;
    expect(spec).toMatchObject({
      backoffLimit: 2,
      ttlSecondsAfterFinished: 86400,
      activeDeadlineSeconds: 600,
    });
    const c = spec.template.spec.containers[0];
    expect(c.command).toEqual(["alembic", "upgrade", "head"]);
    expect(c.image).toBe("ghcr.io/auditflow/audit-log-analysis:0.4.2");
    expect(c.env).toContainEqual({
      name: "DATABASE_URL",
      valueFrom: { secretKeyRef: { name: "s", key: "url" } },
    });
    expect(c.env).toContainEqual({ name: "DATABASE_PORT", value: "6432" });
    // Only the connection contract and the service's name: Alembic's env.py reads DATABASE_URL.
    expect(c.env.map((e: any) => e.name)).toEqual([
      "SERVICE_NAME",
      "DATABASE_HOST",
      "DATABASE_PORT",
      "DATABASE_NAME",
      "DATABASE_USER",
      "DATABASE_PASSWORD",
      "DATABASE_URL",
    ]);
    expect(spec.template.spec.restartPolicy).toBe("Never");
    expect(c.securityContext).toMatchObject({ readOnlyRootFilesystem: true, runAsNonRoot: true });
    expect(
      () =>
        new Migration("m", {
          namespace: "a",
          service: "s",
          image: "x/y:1",
          command: [],
          database: {} as any,
        }),
    ).toThrow(/command must not be empty/);
  });

  test("Pulumi waits for the Job a minute longer than its Kubernetes deadline", async () => {
    const waits: Record<string, unknown> = {};
    await runComponent(() => {
      // Resource options never reach the mocks; a stack transformation sees them.
      pulumi.runtime.registerStackTransformation((t) => {
        if (t.type === "kubernetes:batch/v1:Job") waits[t.name] = t.opts.customTimeouts;
        return undefined;
      });
      new Migration("slow-migrate", {
        namespace: "auditflow",
        service: "audit-log-analysis",
        image: "ghcr.io/auditflow/audit-log-analysis:0.4.2",
        command: ["alembic", "upgrade", "head"],
        timeoutSeconds: 1800,
        database,
      });
    });
    expect(waits).toEqual({ "slow-migrate": { create: "1860s", update: "1860s" } });
  });
});

test("postgresql.conf scales with the memory limit", () => {
  expect(postgresqlConf({ memoryLimit: "4Gi", maxConnections: 200 })).toMatch(
    /shared_buffers = 1024MB\neffective_cache_size = 2048MB\nwork_mem = 2MB/,
  );
});

describe("PostgresBackup", () => {
  const recipient = BACKUP_RECIPIENT;
  const base = backupArgs();

  test("a backup and a verification CronJob; only the verification reads the key", async () => {
    const rs = await runComponent(() => new PostgresBackup("postgres-backup", base));
    const cron = (n: string) =>
      rs.find(
        (r) => r.type === "kubernetes:batch/v1:CronJob" && r.name === `postgres-backup-${n}`,
      )!;
    const pod = (n: string) => (cron(n).inputs.spec as any).jobTemplate.spec.template.spec;
    expect(cron("backup").inputs.spec as any).toMatchObject({
      schedule: "0 3 * * *",
      concurrencyPolicy: "Forbid",
      startingDeadlineSeconds: 600,
    });
    const env = (n: string) =>
      Object.fromEntries(
        pod(n).containers[0].env.map((e: any) => [e.name, e.value ?? e.valueFrom]),
      );
    expect(env("backup")).toMatchObject({
      BACKUP_DATABASES: "audit_log_analysis",
      BACKUP_RECIPIENTS: recipient,
      BACKUP_KEEP: "7",
    });
    expect(env("backup").AGE_IDENTITY_FILE).toBeUndefined();
    expect(env("verify").AGE_IDENTITY_FILE).toBe("/keys/identity.txt");
    // The outcome is recorded in PostgreSQL for the exporter's role; no textfile on the volume.
    expect(env("verify").MONITORING_ROLE).toBe(MONITORING_ROLE);
    for (const job of ["backup", "verify"]) expect(env(job).METRICS_FILE).toBeUndefined();
    const verifySh = (rs.find((r) => r.name === "postgres-backup-scripts")!.inputs.data as any)[
      "verify.sh"
    ];
    expect(verifySh).not.toMatch(/METRICS_FILE|\.prom\b/);
    expect(verifySh).toMatch(/grant select on auditflow_backup\.verification to :"monitor"/);
    expect(pod("backup").volumes.some((v: any) => v.secret)).toBe(false);
    expect(pod("verify").securityContext).toMatchObject({
      runAsNonRoot: true,
      runAsUser: 70,
      seccompProfile: { type: "RuntimeDefault" },
    });
    expect(only(rs, "kubernetes:core/v1:Secret").secretPaths).toEqual(["stringData"]);
  });

  test("rejects bad schedules, retention and keys before creating anything", async () => {
    const cases: [Partial<typeof base>, RegExp][] = [
      [{ schedule: "nightly" }, /schedule "nightly" must be a five-field cron expression/],
      [{ keep: 0 }, /keep must be a whole number from 1 to 90 \(got 0\)/],
      [{ recipients: ["ssh-rsa AAA"] }, /recipient "ssh-rsa AAA" is not an age public key/],
      [{ databases: [] }, /databases must list at least one database/],
    ];
    for (const [over, message] of cases)
      await expectRejectedBeforeCreating(
        () => new PostgresBackup("b", { ...base, ...over }),
        message,
      );
  });

  const offsite = {
    endpoint: "https://backup-nas.example.internal:9000",
    bucket: "auditflow-backups",
    prefix: "auditflow/prod",
    accessKeyId: "auditflow-prod-backup",
    secretAccessKey: pulumi.secret("offsite-secret-key"),
    egressCidrs: ["192.168.80.20/32"],
    caBundle: "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
  };

  test("an off-site copy: both jobs get the store, the key only through a secret Secret", async () => {
    const rs = await runComponent(
      () => new PostgresBackup("postgres-backup", { ...base, offsite }),
    );
    const env = (n: string) =>
      (
        rs.find((r) => r.name === `postgres-backup-${n}`)!.inputs.spec as any
      ).jobTemplate.spec.template.spec.containers[0].env.reduce(
        (m: Record<string, unknown>, e: any) => ({ ...m, [e.name]: e.value ?? e.valueFrom }),
        {},
      );
    const secret = rs.find((r) => r.name === "postgres-backup-offsite")!;
    for (const job of ["backup", "verify"]) {
      expect(env(job)).toMatchObject({
        OFFSITE_URL: "https://backup-nas.example.internal:9000/auditflow-backups/auditflow/prod",
        OFFSITE_REGION: "us-east-1",
        OFFSITE_CA_FILE: "/scripts/offsite-ca.crt",
        OFFSITE_SECRET_ACCESS_KEY: {
          secretKeyRef: { name: (secret.state.metadata as any).name, key: "secret-access-key" },
        },
      });
    }
    expect(secret.secretPaths).toEqual(["stringData"]);
    expect(JSON.stringify(rs.filter((r) => r !== secret).map((r) => r.inputs))).not.toContain(
      "offsite-secret-key",
    );
    const scripts = rs.find((r) => r.name === "postgres-backup-scripts")!;
    expect((scripts.inputs.data as any)["offsite-ca.crt"]).toBe(offsite.caBundle);
    const policy = only(rs, "kubernetes:networking.k8s.io/v1:NetworkPolicy");
    expect((policy.inputs.spec as any).egress[1]).toEqual({
      to: [{ ipBlock: { cidr: "192.168.80.20/32" } }],
      ports: [{ protocol: "TCP", port: 9000 }],
    });
  });

  test("without an off-site target the jobs reach only PostgreSQL", async () => {
    const rs = await runComponent(() => new PostgresBackup("postgres-backup", base));
    const policy = only(rs, "kubernetes:networking.k8s.io/v1:NetworkPolicy");
    expect((policy.inputs.spec as any).egress).toHaveLength(1);
    expect(rs.some((r) => r.name === "postgres-backup-offsite")).toBe(false);
  });

  test("rejects a bad off-site target before creating anything", async () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [
        { endpoint: "http://nas:9000" },
        /offsite.endpoint "http:\/\/nas:9000" must use https:\/\/ \(http:\/\/ only with allowHttp\)/,
      ],
      [{ endpoint: "https://nas:9000/bucket" }, /must be only scheme, host and port/],
      [{ prefix: "auditflow/" }, /offsite.prefix "auditflow\/" must be path segments/],
      [{ egressCidrs: [] }, /offsite.egressCidrs must list the store's addresses/],
      [{ egressCidrs: ["nas"] }, /entry "nas" is not an IPv4 CIDR/],
      [{ bucket: "B" }, /offsite.bucket "B" is not an S3 bucket name/],
    ];
    for (const [over, message] of cases)
      await expectRejectedBeforeCreating(
        () => new PostgresBackup("b", { ...base, offsite: { ...offsite, ...over } }),
        message,
      );
  });
});

test("RabbitMQ password hashes are stable for a password, so previews show no change", async () => {
  const { rabbitPasswordHash } = await import("../../components/messaging/rabbitmq-config");
  expect(rabbitPasswordHash("pw", undefined, "u")).toBe(rabbitPasswordHash("pw", undefined, "u"));
  expect(rabbitPasswordHash("pw", undefined, "u")).not.toBe(
    rabbitPasswordHash("pw2", undefined, "u"),
  );
  expect(rabbitPasswordHash("pw", undefined, "u")).not.toBe(
    rabbitPasswordHash("pw", undefined, "v"),
  );
  // The format RabbitMQ expects: 4 bytes of salt and a SHA-256 digest.
  expect(Buffer.from(rabbitPasswordHash("pw", undefined, "u"), "base64")).toHaveLength(36);
});
