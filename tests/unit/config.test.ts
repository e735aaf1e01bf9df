import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { validateConfig } from "../../infra/validate";
import { PROJECT, problemsOf, rawConfig } from "../helpers/stack-config";

/** A valid off-site target, changed by `over`, added to a config's backups. */
function offsite(c: any, over: Record<string, unknown> = {}) {
  c.data.backups.offsite = {
    endpoint: "https://192.168.50.30:9000",
    bucket: "auditflow-backups",
    accessKeyId: "auditflow-dev",
    egressCidrs: ["192.168.50.30/32"],
    ...over,
  };
}

describe("stack files", () => {
  test.each(["dev", "staging", "prod"])("%s validates", (stack) => {
    const r = validateConfig(rawConfig(stack), PROJECT);
    expect(r.ok ? [] : r.problems).toEqual([]);
    expect(r.ok && r.config.environment).toBe(stack);
  });

  test("stacks differ where environments should", () => {
    const cfg = (s: string) => {
      const r = validateConfig(rawConfig(s), PROJECT);
      if (!r.ok) throw new Error("invalid");
      return r.config;
    };
    const dev = cfg("dev");
    const staging = cfg("staging");
    const prod = cfg("prod");
    expect(dev.cluster.nodes).toHaveLength(1);
    expect(dev.cluster.nodes[0]).toMatchObject({
      arch: "arm64",
      cpu: 4,
      memory: "4Gi",
      role: "server",
    });
    expect(dev.services.every((s) => s.replicas === 1)).toBe(true);
    expect(new Set(staging.cluster.nodes.map((n) => n.arch))).toEqual(new Set(["arm64", "amd64"]));
    expect(staging.cluster.nodes.map((n) => n.role).sort()).toEqual(["agent", "server"]);
    expect(prod.cluster.nodes.filter((n) => n.role === "server")).toHaveLength(3);
    expect(prod.cluster.nodes.filter((n) => n.role === "agent")).toHaveLength(2);
    expect(prod.services.every((s) => (s.replicas ?? s.autoscaling!.minReplicas) >= 2)).toBe(true);
  });

  test("the validated config is frozen", () => {
    const r = validateConfig(rawConfig("dev"), PROJECT);
    if (!r.ok) throw new Error("invalid");
    expect(Object.isFrozen(r.config)).toBe(true);
    expect(Object.isFrozen(r.config.cluster.nodes[0])).toBe(true);
  });
});

describe("bad input is rejected with the key, the value and what is allowed", () => {
  const cases: [string, (c: any) => void, string, RegExp, string?][] = [
    [
      "unknown top-level key",
      (c) => (c.replicaCount = 3),
      "replicaCount",
      /not a known setting.*services/,
    ],
    [
      "unknown nested key",
      (c) => (c.cluster.nodes[0].gpu = true),
      "cluster.nodes[0].gpu",
      /not a known setting.*arch/,
    ],
    [
      "unknown environment",
      (c) => (c.environment = "qa"),
      "environment",
      /one of "dev", "staging", "prod".*"qa"/,
    ],
    ["missing environment", (c) => delete c.environment, "environment", /required/],
    [
      "wrong type for replicas",
      (c) => (c.services[0].replicas = "two"),
      "services[0].replicas",
      /whole number/,
    ],
    [
      "wrong type for a fractional number says a number, not a whole number",
      (c) => (c.data.rabbitmq.memoryHighWatermark = "high"),
      "data.rabbitmq.memoryHighWatermark",
      /^must be a number \(got "high"\)$/,
    ],
    [
      "wrong type for an integer without its own message says a whole number",
      (c) => (c.data.postgres.maxConnections = "many"),
      "data.postgres.maxConnections",
      /^must be a whole number \(got "many"\)$/,
    ],
    [
      "zero replicas",
      (c) => (c.services[1].replicas = 0),
      "services[1].replicas",
      /at least 1.*got 0/,
    ],
    [
      "negative replicas",
      (c) => (c.services[2].replicas = -1),
      "services[2].replicas",
      /at least 1.*got -1/,
    ],
    [
      "fractional replicas",
      (c) => (c.services[0].replicas = 1.5),
      "services[0].replicas",
      /whole number/,
    ],
    [
      "invalid memory quantity",
      (c) => (c.services[0].resources.requests.memory = "64MB"),
      "services[0].resources.requests.memory",
      /memory quantity.*128Mi.*"64MB"/,
    ],
    [
      "invalid cpu quantity",
      (c) => (c.services[0].resources.limits.cpu = "half"),
      "services[0].resources.limits.cpu",
      /CPU quantity.*"half"/,
    ],
    [
      "cpu limit below request",
      (c) => (c.services[1].resources.limits.cpu = "50m"),
      "services[1].resources.limits.cpu",
      /below the request 100m/,
    ],
    [
      "memory limit below request",
      (c) => (c.services[1].resources.limits.memory = "64Mi"),
      "services[1].resources.limits.memory",
      /below the request 128Mi/,
    ],
    [
      "missing limits",
      (c) => delete c.services[0].resources.limits,
      "services[0].resources.limits",
      /required/,
    ],
    [
      "unknown node in placement",
      (c) => (c.services[0].placement = { nodes: ["pi-dev-9"] }),
      "services[0].placement.nodes[0]",
      /unknown node "pi-dev-9".*pi-dev-1/,
    ],
    [
      "architecture no node has",
      (c) => (c.services[0].placement = { arch: "amd64" }),
      "services[0].placement.arch",
      /no node has architecture amd64/,
    ],
    [
      "duplicate service names",
      (c) => (c.services[3].name = "audit-event-generator"),
      "services[3].name",
      /duplicate service "audit-event-generator"/,
    ],
    [
      "unknown service name",
      (c) => (c.services[0].name = "billing"),
      "services[0].name",
      /one of "audit-event-generator"/,
    ],
    [
      "missing service",
      (c) => c.services.pop(),
      "services",
      /missing the service "notification-service"/,
    ],
    [
      "image tagged latest",
      (c) => (c.services[0].image = "ghcr.io/auditflow/audit-event-generator:latest"),
      "services[0].image",
      /latest/,
    ],
    [
      "image without tag",
      (c) => (c.services[0].image = "ghcr.io/auditflow/audit-event-generator"),
      "services[0].image",
      /no tag or digest/,
    ],
    [
      "malformed image reference",
      (c) => (c.services[0].image = "Not An Image!"),
      "services[0].image",
      /not a valid image reference/,
    ],
    [
      "missing required secret",
      (c) => delete c.sshPrivateKey,
      "sshPrivateKey",
      /required when cluster.provisioning is 'ssh'.*--secret/,
    ],
    [
      "missing ssh user",
      (c) => delete c.cluster.sshUser,
      "cluster.sshUser",
      /required when cluster.provisioning is 'ssh'/,
    ],
    [
      "render mode without directory",
      (c) => (c.cluster.provisioning = "render"),
      "cluster.renderDir",
      /required when cluster.provisioning is 'render'/,
    ],
    [
      "unknown provisioning mode",
      (c) => (c.cluster.provisioning = "ansible"),
      "cluster.provisioning",
      /one of "ssh", "kubeconfig", "render"/,
    ],
    [
      "unknown architecture",
      (c) => (c.cluster.nodes[0].arch = "riscv64"),
      "cluster.nodes[0].arch",
      /one of "arm64", "amd64"/,
    ],
    [
      "duplicate node name",
      (c) =>
        c.cluster.nodes.push({ ...c.cluster.nodes[0], address: "192.168.50.22", role: "agent" }),
      "cluster.nodes[1].name",
      /duplicate node name "pi-dev-1"/,
    ],
    [
      "duplicate node address",
      (c) => c.cluster.nodes.push({ ...c.cluster.nodes[0], name: "pi-dev-2", role: "agent" }),
      "cluster.nodes[1].address",
      /duplicate node address/,
    ],
    [
      "even number of servers",
      (c) =>
        c.cluster.nodes.push({ ...c.cluster.nodes[0], name: "pi-dev-2", address: "192.168.50.22" }),
      "cluster.nodes",
      /2 servers.*odd number/,
    ],
    [
      "no server",
      (c) => (c.cluster.nodes[0].role = "agent"),
      "cluster.nodes",
      /at least one node with role 'server'/,
    ],
    [
      "invalid node name",
      (c) => (c.cluster.nodes[0].name = "Pi_Dev"),
      "cluster.nodes[0].name",
      /DNS-1123/,
    ],
    ["zero cpu node", (c) => (c.cluster.nodes[0].cpu = 0), "cluster.nodes[0].cpu", /at least 1/],
    [
      "secret-looking env var",
      (c) => (c.services[0].env = { DB_PASSWORD: "hunter2" }),
      "services[0].env.DB_PASSWORD",
      /looks like a secret/,
    ],
    [
      "bad env var name",
      (c) => (c.services[0].env = { "log-level": "x" }),
      "services[0].env.log-level",
      /\[A-Z_\]/,
    ],
    [
      "quota too small for the services",
      (c) => (c.namespaces.apps.quota.limitsMemory = "1Gi"),
      "namespaces.apps.quota.limitsMemory",
      /1024Mi but the services need 1408Mi/,
    ],
    [
      "quota pods too few",
      (c) => (c.namespaces.apps.quota.pods = 4),
      "namespaces.apps.quota.pods",
      /4 but the services need 8 pods/,
    ],
    [
      "service with both a prebuilt image and a build",
      (c) => {
        c.services[0].image = "ghcr.io/auditflow/audit-event-generator:0.4.2";
        c.services[0].build = { context: "components/images/postgres-backup" };
      },
      "services[0].build",
      /either image \(a prebuilt image\) or build, not both/,
    ],
    [
      "build context that is not a directory of the project",
      (c) => (c.services[1].build = { context: "services/missing" }),
      "services[1].build.context",
      /"services\/missing" is not a directory of the project/,
    ],
    [
      "build context outside the project",
      (c) => (c.services[1].build = { context: "../elsewhere" }),
      "services[1].build.context",
      /relative to the project root, without '\.\.'/,
    ],
    [
      "build with a missing Dockerfile",
      (c) =>
        (c.services[1].build = {
          context: "components/images/postgres-backup",
          dockerfile: "components/images/nope.Dockerfile",
        }),
      "services[1].build.dockerfile",
      /has no Dockerfile at "components\/images\/nope.Dockerfile"/,
    ],
    [
      "secret-looking build argument",
      (c) =>
        (c.services[1].build = {
          context: "components/images/postgres-backup",
          args: { NPM_TOKEN: "x" },
        }),
      "services[1].build.args.NPM_TOKEN",
      /build arguments are recorded in the image/,
    ],
    [
      "build without an images section",
      (c) => {
        delete c.images;
        c.services[1].build = { context: "components/images/postgres-backup" };
      },
      "images",
      /is required when services\.1\.build is set/,
    ],
    [
      "pushing without the registry token",
      (c) => delete c.registryPassword,
      "registryPassword",
      /is required when images.push is true/,
    ],
    [
      "pushing without a registry user",
      (c) => delete c.images.username,
      "images.username",
      /is required when images.push is true/,
    ],
    [
      "builds that are not pushed to a cluster that must pull them",
      (c) => (c.images.push = false),
      "images.push",
      /the cluster can only pull pushed images/,
    ],
    [
      "registry with a tag",
      (c) => (c.images.registry = "ghcr.io/auditflow:1.0"),
      "images.registry",
      /must be a registry host with an optional path/,
    ],
    [
      "unknown key in images",
      (c) => (c.images.pull = true),
      "images.pull",
      /is not a known setting; allowed keys here are: registry, username, push, cache, checkPulledImages, postgresBackup/,
    ],
    [
      "missing backup verification key",
      (c) => delete c.backupVerifyIdentity,
      "backupVerifyIdentity",
      /is required: the private age key of the backup verification job/,
    ],
    [
      "backup recipient that is not an age key",
      (c) => (c.data.backups.recipients = ["ssh-ed25519 AAAA"]),
      "data.backups.recipients[0]",
      /must be an age public key/,
    ],
    [
      "off-site endpoint with a path",
      (c) => offsite(c, { endpoint: "https://s3.example.net/auditflow-backups" }),
      "data.backups.offsite.endpoint",
      /must be only scheme, host and port \(the bucket and prefix are separate settings\)/,
    ],
    [
      "off-site endpoint over http without allowHttp",
      (c) => offsite(c, { endpoint: "http://192.168.50.30:9000" }),
      "data.backups.offsite.endpoint",
      /uses http:\/\/, .*set allowHttp: true/,
    ],
    [
      "off-site endpoint with credentials in it",
      (c) => offsite(c, { endpoint: "https://key:secret@s3.example.net" }),
      "data.backups.offsite.endpoint",
      /must not contain credentials/,
    ],
    [
      "off-site bucket that S3 refuses",
      (c) => offsite(c, { bucket: "Auditflow_Backups" }),
      "data.backups.offsite.bucket",
      /must be an S3 bucket name/,
    ],
    [
      "off-site prefix with a leading slash",
      (c) => offsite(c, { prefix: "/auditflow/dev" }),
      "data.backups.offsite.prefix",
      /no leading or trailing '\/'/,
    ],
    [
      "off-site egress that misses the endpoint",
      (c) => offsite(c, { egressCidrs: ["192.168.60.0/24"] }),
      "data.backups.offsite.egressCidrs",
      /does not include the endpoint's address 192\.168\.50\.30/,
    ],
    [
      "off-site egress that is not a CIDR",
      (c) => offsite(c, { egressCidrs: ["backup-nas"] }),
      "data.backups.offsite.egressCidrs[0]",
      /must be an IPv4 CIDR/,
    ],
    [
      "off-site without egress",
      (c) => offsite(c, { egressCidrs: [] }),
      "data.backups.offsite.egressCidrs",
      /must list the store's addresses/,
    ],
    [
      "off-site CA bundle that is not PEM",
      (c) => offsite(c, { caBundle: "my-ca" }),
      "data.backups.offsite.caBundle",
      /must be PEM certificates/,
    ],
    [
      "off-site without its secret key",
      (c) => {
        offsite(c);
        delete c.backupOffsiteSecretKey;
      },
      "backupOffsiteSecretKey",
      /is required when data.backups.offsite is set/,
    ],
    [
      "unknown off-site setting",
      (c) => offsite(c, { secretAccessKey: "hunter2" }),
      "data.backups.offsite.secretAccessKey",
      /is not a known setting; allowed keys here are: endpoint, bucket, prefix/,
    ],
    [
      "redis maxmemory without headroom",
      (c) => (c.data.redis.maxMemory = "90mb"),
      "data.redis.maxMemory",
      /90mb leaves too little headroom under the 96Mi limit/,
    ],
    [
      "redis persistence without storage",
      (c) => (c.data.redis.persistence = "aof"),
      "data.redis.storage",
      /required when persistence is "aof"/,
    ],
    [
      "unknown eviction policy",
      (c) => (c.data.redis.maxMemoryPolicy = "lru"),
      "data.redis.maxMemoryPolicy",
      /one of "noeviction", "allkeys-lru"/,
    ],
    [
      "even RabbitMQ cluster",
      (c) => (c.data.rabbitmq.replicas = 2),
      "data.rabbitmq.replicas",
      /1 or an odd number of nodes/,
    ],
    [
      "postgres connections out of range",
      (c) => (c.data.postgres.maxConnections = 5),
      "data.postgres.maxConnections",
      /at least 10/,
    ],
    ["structured value of the wrong type", (c) => (c.cluster = "k3s"), "cluster", /must be a map/],
    // K3s lifecycle (issue #11)
    [
      "ssh provisioning without admin networks",
      (c) => delete c.cluster.adminCidrs,
      "cluster.adminCidrs",
      /required when cluster.provisioning is 'ssh'.*networks/,
    ],
    [
      "admin network that is not a CIDR",
      (c) => (c.cluster.adminCidrs = ["192.168.50.0"]),
      "cluster.adminCidrs[0]",
      /IPv4 CIDR/,
    ],
    [
      "node address that is a DNS name under ssh",
      (c) => (c.cluster.nodes[0].address = "pi.example.internal"),
      "cluster.nodes[0].address",
      /must be an IPv4 address when cluster.provisioning is 'ssh'/,
    ],
    [
      "malformed installer digest",
      (c) => (c.cluster.installScriptSha256 = "ABC"),
      "cluster.installScriptSha256",
      /64 lower-case hex digits/,
    ],
    [
      "several servers without a virtual IP",
      (c) => delete c.cluster.vip,
      "cluster.vip",
      /required with 3 servers/,
      "prod",
    ],
    [
      "virtual IP that is a node's address",
      (c) => (c.cluster.vip.address = "192.168.70.11"),
      "cluster.vip.address",
      /prod-server-1's own address/,
      "prod",
    ],
    [
      "malformed services range",
      (c) => (c.cluster.vip.servicesRange = "192.168.70.200..220"),
      "cluster.vip.servicesRange",
      /IPv4 range/,
      "prod",
    ],
    [
      "container log size without a unit",
      (c) => (c.cluster.containerLogs = { maxSize: "10", maxFiles: 5 }),
      "cluster.containerLogs.maxSize",
      /size such as 10Mi/,
    ],
    [
      "journald size in Kubernetes units",
      (c) => (c.cluster.journal = { maxUse: "500Mi", maxFile: "50M" }),
      "cluster.journal.maxUse",
      /journald size such as 500M/,
    ],
    [
      "snapshot schedule that is not cron",
      (c) => (c.cluster.etcdSnapshots.schedule = "hourly"),
      "cluster.etcdSnapshots.schedule",
      /five-field cron/,
    ],
    [
      "air-gapped install without files for the nodes' architecture",
      (c) => (c.cluster.airgap = { installScript: "install.sh" }),
      "cluster.airgap.arm64",
      /required: a node has arch arm64/,
    ],
    [
      "air-gapped images that are not a tarball",
      (c) =>
        (c.cluster.airgap = {
          installScript: "install.sh",
          arm64: {
            k3sBinary: "k3s-arm64",
            k3sBinarySha256: "a".repeat(64),
            images: "images.zip",
            imagesSha256: "b".repeat(64),
          },
        }),
      "cluster.airgap.arm64.images",
      /ending in \.tar, \.tar\.gz or \.tar\.zst/,
    ],
    [
      "off-site snapshots without the backups' store",
      (c) => (c.cluster.etcdSnapshots.offsite = true),
      "cluster.etcdSnapshots.offsite",
      /needs data.backups.offsite/,
    ],
  ];

  // A rest parameter: jest would take a fifth named parameter for its `done` callback.
  test.each(cases)("%s", (...row) => {
    const [, mutate, key, message, stack] = row;
    const problems = problemsOf(mutate, stack);
    const found = problems.find((p) => p.key === `${PROJECT}:${key}`);
    expect(found).toBeDefined();
    expect(found!.message).toMatch(message);
  });

  describe("air-gapped files on this machine", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "airgap-config-"));
    const file = (name: string, text: string) => {
      fs.writeFileSync(path.join(dir, name), text);
      return { path: path.join(dir, name), sha: createHash("sha256").update(text).digest("hex") };
    };
    const installer = file("install.sh", "#!/bin/sh\n");
    const binary = file("k3s-arm64", "binary\n");
    const images = file("k3s-airgap-images-arm64.tar.zst", "images\n");
    afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
    const withAirgap = (over: Record<string, string> = {}) => {
      const c = structuredClone(rawConfig("dev")) as any;
      c.cluster.installScriptSha256 = installer.sha;
      c.cluster.airgap = {
        installScript: installer.path,
        arm64: {
          k3sBinary: binary.path,
          k3sBinarySha256: binary.sha,
          images: images.path,
          imagesSha256: images.sha,
          ...over,
        },
      };
      const r = validateConfig(c, PROJECT);
      return r.ok ? [] : r.problems;
    };

    test("present files with the configured digests are accepted", () => {
      expect(withAirgap()).toEqual([]);
    });

    test("a missing binary is named by its key before anything is created", () => {
      const problems = withAirgap({ k3sBinary: path.join(dir, "missing") });
      expect(problems).toEqual([
        {
          key: `${PROJECT}:cluster.airgap.arm64.k3sBinary`,
          message: expect.stringMatching(/missing" is not a file on this machine/),
        },
      ]);
    });

    test("an images tarball whose SHA-256 differs from the config is named with both digests", () => {
      const problems = withAirgap({ imagesSha256: "0".repeat(64) });
      expect(problems).toEqual([
        {
          key: `${PROJECT}:cluster.airgap.arm64.images`,
          message: `"${images.path}" has SHA-256 ${images.sha}, but the config says ${"0".repeat(64)}: a different file`,
        },
      ]);
    });
  });

  test("an off-site target over http inside the trusted network is accepted with allowHttp", () => {
    const c = structuredClone(rawConfig("dev")) as any;
    offsite(c, { endpoint: "http://192.168.50.30:9000", allowHttp: true });
    const r = validateConfig(c, PROJECT);
    expect(r.ok ? [] : r.problems).toEqual([]);
  });

  test("every problem is reported at once, not only the first", () => {
    const problems = problemsOf((c) => {
      c.environment = "qa";
      c.services[0].replicas = 0;
      c.cluster.nodes[0].arch = "sparc";
      delete c.sshPrivateKey;
    });
    expect(problems.map((p) => p.key)).toEqual(
      expect.arrayContaining([
        `${PROJECT}:environment`,
        `${PROJECT}:services[0].replicas`,
        `${PROJECT}:cluster.nodes[0].arch`,
        `${PROJECT}:sshPrivateKey`,
      ]),
    );
  });

  test("secret values never appear in messages", () => {
    const problems = problemsOf((c) => (c.sshPrivateKey = 42));
    const text = JSON.stringify(problems);
    expect(text).toContain(`${PROJECT}:sshPrivateKey`);
    expect(text).not.toContain("42");
  });
});
