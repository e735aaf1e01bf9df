/**
 * The rules of the stack configuration that span keys (a quota that must fit the services, a
 * secret required by another setting, node names unique...). Each reports through `issue` with the
 * path of the key to fix; `validate.ts` runs them next to the shapes in `schema.ts`.
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { z } from "zod";
import { bytes, bytesPattern, cpuMillis } from "../components/lib/quantity";
import { inCidr, ipv4Pattern } from "../components/lib/net";
import { REDIS_MAXMEMORY_SHARE, redisMaxMemoryFits } from "../components/data/redis-config";
import {
  clusterSchema,
  configSchema,
  dataSchema,
  serviceSchema,
  SERVICE_NAMES,
  secretsNeeded,
  type DataConfig,
  type NamespaceSizing,
  type NodeSpec,
  type PlatformConfig,
  type ServiceSpec,
} from "./schema";
import { peakReplicas, serviceOptionRules } from "./service-options";
import { monitoringRules, monitoringSchema, type MonitoringConfig } from "./monitoring-schema";
import { PROJECT_ROOT } from "./images-config";

const secretLookingName = /(PASSWORD|PASSWD|SECRET|TOKEN|PRIVATE_?KEY|API_?KEY|CREDENTIAL)/i;

/** A config path such as ["cluster", "nodes", 0, "name"]. */
export type Path = (string | number)[];
/** Reports one problem at a path. */
export type Issue = (path: Path, message: string) => void;

/** Data-layer rules: Redis keeps headroom under its limit; RabbitMQ clusters need a quorum. */
function dataRules(d: DataConfig, issue: Issue): void {
  const limit = d.redis.resources.limits.memory;
  if (bytesPattern.test(limit) && !redisMaxMemoryFits(d.redis.maxMemory, limit)) {
    issue(
      ["data", "redis", "maxMemory"],
      `${d.redis.maxMemory} leaves too little headroom under the ${d.redis.resources.limits.memory} limit (at most ${REDIS_MAXMEMORY_SHARE * 100}% of it, for fragmentation and buffers)`,
    );
  }
  if (d.redis.persistence !== "none" && !d.redis.storage) {
    issue(["data", "redis", "storage"], `is required when persistence is "${d.redis.persistence}"`);
  }
  const offsite = d.backups.offsite;
  if (offsite) {
    const url = new URL(offsite.endpoint);
    if (url.protocol === "http:" && offsite.allowHttp !== true) {
      issue(
        ["data", "backups", "offsite", "endpoint"],
        "uses http://, which sends the (encrypted) backups and signed requests in clear; use https://, or set allowHttp: true for a store inside the trusted network",
      );
    }
    if (
      ipv4Pattern.test(url.hostname) &&
      !offsite.egressCidrs.some((c) => inCidr(url.hostname, c))
    ) {
      issue(
        ["data", "backups", "offsite", "egressCidrs"],
        `does not include the endpoint's address ${url.hostname}, so the NetworkPolicy would block the copy`,
      );
    }
  }
  if (d.rabbitmq.replicas > 1 && d.rabbitmq.replicas % 2 === 0) {
    issue(
      ["data", "rabbitmq", "replicas"],
      `is ${d.rabbitmq.replicas}; a RabbitMQ cluster needs 1 or an odd number of nodes (quorum queues)`,
    );
  }
}

/** The parts of a configuration that parsed on their own, for the rules that span sections. */
interface Parts {
  cluster?: z.infer<typeof clusterSchema>;
  namespaces?: PlatformConfig["namespaces"];
  services: (ServiceSpec | undefined)[];
  sshPrivateKey: unknown;
  backupOffsiteSecretKey: unknown;
  data?: DataConfig;
  monitoring?: MonitoringConfig;
  alertmanagerSmtpPassword: unknown;
  alertmanagerSlackApiUrl: unknown;
  /** The cluster section as given, for rules that must run even when a node is malformed. */
  rawCluster: Record<string, unknown>;
}

function parts(raw: Record<string, unknown>): Parts {
  const ok = <T>(r: { success: boolean; data?: T }) => (r.success ? r.data : undefined);
  const rawServices = Array.isArray(raw.services) ? (raw.services as unknown[]) : [];
  return {
    cluster: ok(clusterSchema.safeParse(raw.cluster)),
    namespaces: ok(configSchema.shape.namespaces.safeParse(raw.namespaces)),
    services: rawServices.map((s) => ok(serviceSchema.safeParse(s))),
    sshPrivateKey: raw.sshPrivateKey,
    backupOffsiteSecretKey: raw.backupOffsiteSecretKey,
    data: ok(dataSchema.safeParse(raw.data)),
    monitoring: ok(monitoringSchema.safeParse(raw.monitoring)),
    alertmanagerSmtpPassword: raw.alertmanagerSmtpPassword,
    alertmanagerSlackApiUrl: raw.alertmanagerSlackApiUrl,
    rawCluster:
      typeof raw.cluster === "object" && raw.cluster !== null
        ? (raw.cluster as Record<string, unknown>)
        : {},
  };
}

/**
 * Rules that span keys. They run on every section that parsed by itself, so that one bad value
 * elsewhere does not hide these problems: the user gets the whole list in one run.
 */
export function crossFieldRules(raw: Record<string, unknown>, issue: Issue): void {
  const c = parts(raw);
  if (c.cluster) nodeRules(c.cluster.nodes, issue);
  if (c.data) dataRules(c.data, issue);
  if (c.monitoring) {
    monitoringRules(
      c.monitoring,
      { smtpPassword: c.alertmanagerSmtpPassword, slackApiUrl: c.alertmanagerSlackApiUrl },
      issue,
    );
  }
  if (
    c.data?.backups.offsite &&
    (c.backupOffsiteSecretKey === undefined || c.backupOffsiteSecretKey === "")
  ) {
    issue(
      ["backupOffsiteSecretKey"],
      "is required when data.backups.offsite is set: the store's secret access key (pulumi config set --secret backupOffsiteSecretKey)",
    );
  }
  provisioningRules(c.rawCluster, c.sshPrivateKey, issue);
  if (
    secretsNeeded(raw).includes("acmeDns01Secret") &&
    (raw.acmeDns01Secret === undefined || raw.acmeDns01Secret === "")
  ) {
    issue(
      ["acmeDns01Secret"],
      'is required when ingress.acme.solver is "dns01": the DNS provider\'s API token or TSIG key (pulumi config set --secret acmeDns01Secret)',
    );
  }
  if (c.cluster) clusterLifecycleRules(c.cluster, c.data, issue);
  const nodes = c.cluster?.nodes;
  const nodeNames = new Set(nodes?.map((n) => n.name));
  const archs = new Set(nodes?.map((n) => n.arch));

  // Services: each of the four exactly once, placements on declared nodes and architectures.
  const seen = new Set<string>();
  c.services.forEach((s, i) => {
    if (!s) return;
    if (seen.has(s.name)) {
      issue(
        ["services", i, "name"],
        `duplicate service "${s.name}"; each service is configured once`,
      );
    }
    seen.add(s.name);
    if (nodes) {
      s.placement?.nodes?.forEach((n, j) => {
        if (!nodeNames.has(n)) {
          issue(
            ["services", i, "placement", "nodes", j],
            `unknown node "${n}"; declared nodes are ${[...nodeNames].join(", ")}`,
          );
        }
      });
      if (s.placement?.arch && !archs.has(s.placement.arch)) {
        issue(
          ["services", i, "placement", "arch"],
          `no node has architecture ${s.placement.arch}; the cluster has ${[...archs].join(", ")}`,
        );
      }
    }
    serviceOptionRules(s, i, issue);
    Object.keys(s.env ?? {}).forEach((k) => {
      if (secretLookingName.test(k)) {
        issue(
          ["services", i, "env", k],
          "looks like a secret; plain env values are stored in clear text, so secrets come from Kubernetes Secrets managed by the program",
        );
      }
    });
  });
  if (c.services.every((s) => s !== undefined)) {
    for (const name of SERVICE_NAMES) {
      if (!seen.has(name)) issue(["services"], `is missing the service "${name}"`);
    }
    // The apps namespace quota must admit every service at full size during a rolling update
    // (maxSurge 1 adds one pod per Deployment while the old ones keep running).
    if (c.namespaces) quotaFits(c.services as ServiceSpec[], c.namespaces.apps.quota, issue);
  }
}

function nodeRules(nodes: NodeSpec[], issue: Issue): void {
  // Nodes: unique names and addresses; an embedded-etcd control plane needs 1 or an odd number >= 3.
  const names = new Set<string>();
  const addresses = new Set<string>();
  nodes.forEach((n, i) => {
    if (names.has(n.name))
      issue(["cluster", "nodes", i, "name"], `duplicate node name "${n.name}"`);
    if (addresses.has(n.address)) {
      issue(["cluster", "nodes", i, "address"], `duplicate node address "${n.address}"`);
    }
    names.add(n.name);
    addresses.add(n.address);
  });
  const servers = nodes.filter((n) => n.role === "server").length;
  if (servers === 0) {
    issue(["cluster", "nodes"], "must include at least one node with role 'server'");
  } else if (servers > 1 && servers % 2 === 0) {
    issue(
      ["cluster", "nodes"],
      `has ${servers} servers; embedded etcd needs 1 server or an odd number (3, 5, ...) to keep quorum`,
    );
  }
}

/**
 * K3s lifecycle rules for a cluster the program installs: the firewall needs the operators'
 * networks and IPv4 node addresses, several servers need a virtual IP for apiAddress to survive
 * one, and off-site etcd snapshots go to the backups' store.
 */
function clusterLifecycleRules(
  cluster: z.infer<typeof clusterSchema>,
  data: DataConfig | undefined,
  issue: Issue,
): void {
  if (cluster.provisioning !== "ssh") return;
  if (!cluster.adminCidrs)
    issue(
      ["cluster", "adminCidrs"],
      "is required when cluster.provisioning is 'ssh': the networks SSH and the API server admit besides the nodes, e.g. [192.168.50.0/24]",
    );
  if (cluster.airgap) airgapRules(cluster, cluster.airgap, issue);
  cluster.nodes.forEach((n, i) => {
    if (!ipv4Pattern.test(n.address))
      issue(
        ["cluster", "nodes", i, "address"],
        `"${n.address}" must be an IPv4 address when cluster.provisioning is 'ssh' (the host firewall lists node addresses)`,
      );
    if (cluster.vip && n.address === cluster.vip.address)
      issue(
        ["cluster", "vip", "address"],
        `is node ${n.name}'s own address; the virtual IP must be a free address`,
      );
  });
  const servers = cluster.nodes.filter((n) => n.role === "server").length;
  if (servers > 1 && !cluster.vip)
    issue(
      ["cluster", "vip"],
      `is required with ${servers} servers: without a virtual IP, apiAddress is lost with the server that holds it`,
    );
  if (cluster.etcdSnapshots?.offsite && data && !data.backups.offsite)
    issue(
      ["cluster", "etcdSnapshots", "offsite"],
      "needs data.backups.offsite: etcd snapshots are copied to the same S3-compatible store as the backups",
    );
}

/**
 * Air-gapped install: files for every node architecture, the installer's digest, and each local
 * file present with the digest the config gives, so a wrong or missing file stops the program
 * before any node is touched (each node checks its copies again before using them).
 */
function airgapRules(
  cluster: z.infer<typeof clusterSchema>,
  airgap: NonNullable<z.infer<typeof clusterSchema>["airgap"]>,
  issue: Issue,
): void {
  const at = ["cluster", "airgap"];
  if (!cluster.installScriptSha256)
    issue(
      ["cluster", "installScriptSha256"],
      "is required with cluster.airgap: the copied install.sh is checked against it",
    );
  else
    localFileRule(
      airgap.installScript,
      cluster.installScriptSha256,
      [...at, "installScript"],
      issue,
    );
  for (const arch of new Set(cluster.nodes.map((n) => n.arch))) {
    const files = airgap[arch];
    if (!files)
      issue(
        [...at, arch],
        `is required: a node has arch ${arch} (k3sBinary, k3sBinarySha256, images, imagesSha256)`,
      );
    else {
      localFileRule(files.k3sBinary, files.k3sBinarySha256, [...at, arch, "k3sBinary"], issue);
      localFileRule(files.images, files.imagesSha256, [...at, arch, "images"], issue);
    }
  }
}

/** A local file (relative to the project directory) exists and has the SHA-256 the config gives. */
function localFileRule(file: string, sha256: string, where: Path, issue: Issue): void {
  const full = path.resolve(PROJECT_ROOT, file);
  if (!fs.existsSync(full) || !fs.statSync(full).isFile()) {
    issue(where, `"${file}" is not a file on this machine (paths are relative to ${PROJECT_ROOT})`);
    return;
  }
  const got = fileSha256(full);
  if (got !== sha256)
    issue(where, `"${file}" has SHA-256 ${got}, but the config says ${sha256}: a different file`);
}

/** SHA-256 of a file, read in 1 MiB chunks (the images tarball is a few hundred MB). */
function fileSha256(file: string): string {
  const hash = createHash("sha256");
  const buf = Buffer.alloc(1 << 20);
  const fd = fs.openSync(file, "r");
  try {
    for (let n; (n = fs.readSync(fd, buf, 0, buf.length, null)) > 0;)
      hash.update(buf.subarray(0, n));
  } finally {
    fs.closeSync(fd);
  }
  return hash.digest("hex");
}

/** The provisioning mode decides which other settings are required. */
function provisioningRules(cluster: Record<string, unknown>, sshKey: unknown, issue: Issue): void {
  const mode = cluster.provisioning;
  if (mode === "ssh") {
    if (sshKey === undefined || sshKey === "") {
      issue(
        ["sshPrivateKey"],
        "is required when cluster.provisioning is 'ssh'; set it with `pulumi config set --secret sshPrivateKey < ~/.ssh/id_ed25519`",
      );
    }
    if (!cluster.sshUser)
      issue(["cluster", "sshUser"], "is required when cluster.provisioning is 'ssh'");
  }
  if (mode === "render" && !cluster.renderDir) {
    issue(["cluster", "renderDir"], "is required when cluster.provisioning is 'render'");
  }
  if (mode !== "render" && cluster.renderDir) {
    issue(["cluster", "renderDir"], "is only allowed when cluster.provisioning is 'render'");
  }
}

/**
 * What the services hold at once during a rolling update: each at its peak (replicas, or the
 * autoscaling maximum) plus one surge pod. CPU in millicores, memory in bytes.
 */
export function rolloutDemand(services: readonly ServiceSpec[]): {
  requestsCpu: number;
  limitsCpu: number;
  requestsMemory: number;
  limitsMemory: number;
  pods: number;
} {
  const sum = (f: (s: ServiceSpec) => number) =>
    services.reduce((acc, s) => acc + f(s) * (peakReplicas(s) + 1), 0);
  return {
    requestsCpu: sum((s) => cpuMillis(s.resources.requests.cpu)),
    limitsCpu: sum((s) => cpuMillis(s.resources.limits.cpu)),
    requestsMemory: sum((s) => bytes(s.resources.requests.memory)),
    limitsMemory: sum((s) => bytes(s.resources.limits.memory)),
    pods: sum(() => 1),
  };
}

/** The apps namespace quota must admit rolloutDemand; reports each quota key that falls short. */
export function quotaFits(
  services: readonly ServiceSpec[],
  q: NamespaceSizing["quota"],
  issue: Issue,
): void {
  const need = rolloutDemand(services);
  const mi = (v: number) => v / 2 ** 20;
  const checks: [string, number, number, string][] = [
    ["requestsCpu", need.requestsCpu, cpuMillis(q.requestsCpu), "m"],
    ["limitsCpu", need.limitsCpu, cpuMillis(q.limitsCpu), "m"],
    ["requestsMemory", mi(need.requestsMemory), mi(bytes(q.requestsMemory)), "Mi"],
    ["limitsMemory", mi(need.limitsMemory), mi(bytes(q.limitsMemory)), "Mi"],
  ];
  for (const [key, need, have, unit] of checks) {
    if (need > have) {
      issue(
        ["namespaces", "apps", "quota", key],
        `is ${Math.round(have)}${unit} but the services need ${Math.ceil(need)}${unit} during a rolling update (replicas, or the autoscaling maximum, + 1 surge pod each); raise the quota or shrink the services`,
      );
    }
  }
  const pods = need.pods;
  if (pods > q.pods) {
    issue(
      ["namespaces", "apps", "quota", "pods"],
      `is ${q.pods} but the services need ${pods} pods during a rolling update`,
    );
  }
}
