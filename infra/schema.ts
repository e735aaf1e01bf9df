/**
 * The stack configuration schema: every key the program reads, its type, range and cross-field rules.
 *
 * `validateConfig` is pure (no Pulumi runtime) so tests and tools can check a stack file directly;
 * `infra/config.ts` is the only place that reads Pulumi config and calls it.
 */
import { z } from "zod";
import { bytes, bytesPattern, cpuMillis, cpuPattern } from "../components/lib/quantity";
import { parseImage } from "../components/lib/image";
import {
  inCidr,
  ipv4CidrPattern,
  ipv4Pattern,
  ipv4Source,
  s3BucketPattern,
  s3PrefixPattern,
} from "../components/lib/net";
import { EVICTION_POLICIES, redisBytes } from "../components/data/redis-config";

import { SERVICE_NAMES } from "../components/apps/catalog";

export { SERVICE_NAMES };
export type { ServiceName } from "../components/apps/catalog";

export const ENVIRONMENTS = ["dev", "staging", "prod"] as const;
export const ARCHITECTURES = ["arm64", "amd64"] as const;
export type Arch = (typeof ARCHITECTURES)[number];

/** Keys whose values are secrets: never echoed in messages. */
export const SECRET_KEYS = [
  "sshPrivateKey",
  "backupVerifyIdentity",
  "backupOffsiteSecretKey",
] as const;
export type SecretKey = (typeof SECRET_KEYS)[number];

/**
 * The secrets a configuration needs: the SSH key only to install K3s over SSH, the off-site store's
 * key only with an off-site target. Tools that run without the CLI use it to ask only for those.
 */
export function secretsNeeded(raw: Record<string, unknown>): SecretKey[] {
  const at = (o: unknown, k: string): unknown =>
    typeof o === "object" && o !== null ? (o as Record<string, unknown>)[k] : undefined;
  return SECRET_KEYS.filter((key) =>
    key === "sshPrivateKey"
      ? at(raw.cluster, "provisioning") === "ssh"
      : key === "backupOffsiteSecretKey"
        ? at(at(raw.data, "backups"), "offsite") !== undefined
        : true,
  );
}

const dns1123Label = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const dnsName = "[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*";
const hostOrIp = new RegExp(`^(${ipv4Source}|${dnsName})$`);
const secretLookingName = /(PASSWORD|PASSWD|SECRET|TOKEN|PRIVATE_?KEY|API_?KEY|CREDENTIAL)/i;

const cpu = z.string().regex(cpuPattern, {
  error: "must be a CPU quantity such as 250m or 1.5",
});
const memory = z.string().regex(bytesPattern, {
  error: "must be a memory quantity such as 128Mi or 1Gi",
});
const positiveInt = (max: number) =>
  z
    .number({ error: "must be a whole number" })
    .int({ error: "must be a whole number" })
    .min(1, { error: "must be at least 1" })
    .max(max, { error: `must be at most ${max}` });

const image = z.string().superRefine((ref, ctx) => {
  const parsed = parseImage(ref);
  if ("problem" in parsed) ctx.addIssue({ code: "custom", message: parsed.problem });
});

const resourceList = z.strictObject({ cpu, memory });

/** Requests and limits of one container; limits may not be below requests. */
export const resourcesSchema = z
  .strictObject({ requests: resourceList, limits: resourceList })
  .superRefine((r, ctx) => {
    // zod runs this refinement even when a quantity is malformed (reported on its own), so
    // compare only well-formed pairs.
    const kinds = {
      cpu: { pattern: cpuPattern, amount: cpuMillis },
      memory: { pattern: bytesPattern, amount: bytes },
    } as const;
    for (const res of ["cpu", "memory"] as const) {
      const { pattern, amount } = kinds[res];
      if (!pattern.test(r.limits[res]) || !pattern.test(r.requests[res])) continue;
      if (amount(r.limits[res]) < amount(r.requests[res])) {
        ctx.addIssue({
          code: "custom",
          path: ["limits", res],
          message: `limit ${r.limits[res]} is below the request ${r.requests[res]}; raise the limit or lower the request`,
        });
      }
    }
  });
export type Resources = z.infer<typeof resourcesSchema>;

const nodeSchema = z.strictObject({
  name: z.string().regex(dns1123Label, {
    error: "must be a DNS-1123 label (lower-case letters, digits and '-')",
  }),
  address: z.string().regex(hostOrIp, { error: "must be an IPv4 address or a DNS name" }),
  arch: z.enum(ARCHITECTURES),
  cpu: positiveInt(256),
  memory,
  role: z.enum(["server", "agent"]),
});
export type NodeSpec = z.infer<typeof nodeSchema>;

const clusterSchema = z.strictObject({
  provisioning: z.enum(["ssh", "kubeconfig", "render"]),
  k3sVersion: z
    .string()
    .regex(/^v\d+\.\d+\.\d+\+k3s\d+$/, { error: "must be a K3s release such as v1.31.6+k3s1" })
    .optional(),
  sshUser: z
    .string()
    .regex(/^[a-z_][a-z0-9_-]{0,31}$/, { error: "must be a Linux user name" })
    .optional(),
  sshPort: positiveInt(65535).optional(),
  apiAddress: z
    .string()
    .regex(hostOrIp, { error: "must be an IPv4 address or a DNS name" })
    .optional(),
  kubeconfigContext: z.string().min(1).optional(),
  renderDir: z.string().min(1).optional(),
  storageClass: z.string().regex(dns1123Label, { error: "must be a DNS-1123 label" }).optional(),
  nodes: z.array(nodeSchema).min(1, { error: "must list at least one node" }),
});

const placementSchema = z.strictObject({
  nodes: z.array(z.string()).min(1, { error: "must list at least one node" }).optional(),
  arch: z.enum(ARCHITECTURES).optional(),
});

const serviceSchema = z.strictObject({
  name: z.enum(SERVICE_NAMES),
  image: image.optional(),
  replicas: positiveInt(20),
  resources: resourcesSchema,
  placement: placementSchema.optional(),
  env: z
    .record(
      z.string().regex(/^[A-Z_][A-Z0-9_]*$/, {
        error: "environment variable names must match [A-Z_][A-Z0-9_]*",
      }),
      z.string(),
    )
    .optional(),
});
export type ServiceSpec = z.infer<typeof serviceSchema>;

const namespaceSizingSchema = z.strictObject({
  quota: z.strictObject({
    requestsCpu: cpu,
    requestsMemory: memory,
    limitsCpu: cpu,
    limitsMemory: memory,
    pods: positiveInt(500),
    persistentVolumeClaims: z.number().int().min(0).max(100).optional(),
    requestsStorage: memory.optional(),
  }),
  containerDefaults: resourcesSchema,
});
export type NamespaceSizing = z.infer<typeof namespaceSizingSchema>;

const storage = z.string().regex(bytesPattern, { error: "must be a storage quantity such as 5Gi" });

const ipv4Cidr = z
  .string()
  .regex(ipv4CidrPattern, { error: "must be an IPv4 CIDR such as 192.168.50.10/32" });

/** The endpoint of an S3-compatible store: scheme, host and optional port, nothing else. */
const s3Endpoint = z.string().superRefine((v, ctx) => {
  let u: URL;
  try {
    u = new URL(v);
  } catch {
    ctx.addIssue({ code: "custom", message: "must be a URL such as https://s3.example.net" });
    return;
  }
  if (u.protocol !== "https:" && u.protocol !== "http:")
    ctx.addIssue({ code: "custom", message: "must start with https:// (or http://)" });
  if (u.username || u.password)
    ctx.addIssue({
      code: "custom",
      message: "must not contain credentials (the secret key is backupOffsiteSecretKey)",
    });
  if ((u.pathname !== "/" && u.pathname !== "") || u.search || u.hash || v.endsWith("/"))
    ctx.addIssue({
      code: "custom",
      message:
        "must be only scheme, host and port (the bucket and prefix are separate settings), e.g. https://s3.example.net:9000",
    });
});

/**
 * Optional off-site copy of every backup to an S3-compatible store (path-style addressing, SigV4).
 * The secret key is the secret config value backupOffsiteSecretKey.
 */
const offsiteSchema = z.strictObject({
  endpoint: s3Endpoint,
  bucket: z.string().regex(s3BucketPattern, {
    error:
      "must be an S3 bucket name: 3-63 lowercase letters, digits, dots and hyphens, starting and ending with a letter or digit",
  }),
  prefix: z
    .string()
    .regex(s3PrefixPattern, {
      error:
        "must be path segments of letters, digits, '.', '_' and '-' separated by '/', with no leading or trailing '/'",
    })
    .optional(),
  region: z
    .string()
    .regex(/^[a-z0-9-]{2,32}$/, { error: "must be a region name such as us-east-1" })
    .optional(),
  accessKeyId: z.string().regex(/^[A-Za-z0-9._~+/=-]{3,128}$/, {
    error: "must be an access key ID: 3-128 letters, digits and . _ ~ + / = -",
  }),
  egressCidrs: z
    .array(ipv4Cidr)
    .min(1, { error: "must list the store's addresses (the backup pods may reach only these)" }),
  caBundle: z
    .string()
    .regex(/-----BEGIN CERTIFICATE-----[\s\S]+-----END CERTIFICATE-----/, {
      error: "must be PEM certificates (-----BEGIN CERTIFICATE-----...)",
    })
    .optional(),
  allowHttp: z.boolean().optional(),
});
export type OffsiteConfig = z.infer<typeof offsiteSchema>;

const dataSchema = z.strictObject({
  postgres: z.strictObject({
    storage,
    maxConnections: z
      .number()
      .int()
      .min(10, { error: "must be at least 10" })
      .max(1000, { error: "must be at most 1000" }),
    resources: resourcesSchema,
  }),
  pgbouncer: z.strictObject({
    replicas: positiveInt(10),
    defaultPoolSize: positiveInt(500),
    maxClientConn: positiveInt(10000),
    resources: resourcesSchema,
  }),
  redis: z.strictObject({
    maxMemory: z
      .string()
      .regex(/^(\d+(kb|mb|gb)|\d+(Ki|Mi|Gi))$/, { error: "must be a size such as 50mb or 64Mi" }),
    maxMemoryPolicy: z.enum(EVICTION_POLICIES),
    persistence: z.enum(["none", "rdb", "aof"]),
    storage: storage.optional(),
    resources: resourcesSchema,
  }),
  backups: z.strictObject({
    schedule: z
      .string()
      .regex(/^(\S+\s+){4}\S+$/, { error: "must be a five-field cron expression" }),
    verifySchedule: z
      .string()
      .regex(/^(\S+\s+){4}\S+$/, { error: "must be a five-field cron expression" }),
    keep: positiveInt(90),
    storage,
    recipients: z
      .array(
        z
          .string()
          .regex(/^age1[02-9ac-hj-np-z]{58}$/, { error: "must be an age public key (age1...)" }),
      )
      .min(1, { error: "must list at least one age public key" }),
    offsite: offsiteSchema.optional(),
  }),
  rabbitmq: z.strictObject({
    replicas: positiveInt(7),
    storage,
    memoryHighWatermark: z
      .number()
      .min(0.2, { error: "must be at least 0.2" })
      .max(0.9, { error: "must be at most 0.9" }),
    diskFreeLimit: z
      .string()
      .regex(/^\d+(MB|GB)$/, { error: "must be a size such as 500MB or 1GB" }),
    resources: resourcesSchema,
  }),
});
export type DataConfig = z.infer<typeof dataSchema>;

const sections = {
  environment: z.enum(ENVIRONMENTS),
  sshPrivateKey: z.string().min(1).optional(),
  backupOffsiteSecretKey: z.string().min(1).optional(),
  backupVerifyIdentity: z
    .string({
      error:
        "is required: the private age key of the backup verification job (pulumi config set --secret backupVerifyIdentity < verify-key.txt)",
    })
    .regex(/AGE-SECRET-KEY-1[0-9A-Z]+/, { error: "must be an age identity (AGE-SECRET-KEY-1...)" }),
  cluster: clusterSchema,
  namespaces: z.strictObject({ apps: namespaceSizingSchema, data: namespaceSizingSchema }),
  services: z.array(serviceSchema),
  data: dataSchema,
};

/** The whole stack configuration, as `infra/config.ts` hands it to the program. */
export const configSchema = z.strictObject(sections);
export type PlatformConfig = z.infer<typeof configSchema>;

type Path = (string | number)[];
type Issue = (path: Path, message: string) => void;

/** The parts of a configuration that parsed on their own, for the rules that span sections. */
/** Data-layer rules: Redis keeps headroom under its limit; RabbitMQ clusters need a quorum. */
function dataRules(d: DataConfig, issue: Issue): void {
  const limit = bytes(d.redis.resources.limits.memory);
  const max = redisBytes(d.redis.maxMemory);
  if (bytesPattern.test(d.redis.resources.limits.memory) && max > limit * 0.75) {
    issue(
      ["data", "redis", "maxMemory"],
      `${d.redis.maxMemory} leaves too little headroom under the ${d.redis.resources.limits.memory} limit (at most 75% of it, for fragmentation and buffers)`,
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

interface Parts {
  cluster?: z.infer<typeof clusterSchema>;
  namespaces?: PlatformConfig["namespaces"];
  services: (ServiceSpec | undefined)[];
  sshPrivateKey: unknown;
  backupOffsiteSecretKey: unknown;
  data?: DataConfig;
  /** The cluster section as given, for rules that must run even when a node is malformed. */
  rawCluster: Record<string, unknown>;
}

function parts(raw: Record<string, unknown>): Parts {
  const ok = <T>(r: { success: boolean; data?: T }) => (r.success ? r.data : undefined);
  const rawServices = Array.isArray(raw.services) ? (raw.services as unknown[]) : [];
  return {
    cluster: ok(clusterSchema.safeParse(raw.cluster)),
    namespaces: ok(sections.namespaces.safeParse(raw.namespaces)),
    services: rawServices.map((s) => ok(serviceSchema.safeParse(s))),
    sshPrivateKey: raw.sshPrivateKey,
    backupOffsiteSecretKey: raw.backupOffsiteSecretKey,
    data: ok(dataSchema.safeParse(raw.data)),
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
function crossFieldRules(c: Parts, issue: Issue): void {
  if (c.cluster) nodeRules(c.cluster.nodes, issue);
  if (c.data) dataRules(c.data, issue);
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

function quotaFits(services: ServiceSpec[], q: NamespaceSizing["quota"], issue: Issue): void {
  const sum = (f: (s: ServiceSpec) => number) =>
    services.reduce((acc, s) => acc + f(s) * (s.replicas + 1), 0);
  const mi = (v: number) => v / 2 ** 20;
  const checks: [string, number, number, string][] = [
    ["requestsCpu", sum((s) => cpuMillis(s.resources.requests.cpu)), cpuMillis(q.requestsCpu), "m"],
    ["limitsCpu", sum((s) => cpuMillis(s.resources.limits.cpu)), cpuMillis(q.limitsCpu), "m"],
    [
      "requestsMemory",
      mi(sum((s) => bytes(s.resources.requests.memory))),
      mi(bytes(q.requestsMemory)),
      "Mi",
    ],
    [
      "limitsMemory",
      mi(sum((s) => bytes(s.resources.limits.memory))),
      mi(bytes(q.limitsMemory)),
      "Mi",
    ],
  ];
  for (const [key, need, have, unit] of checks) {
    if (need > have) {
      issue(
        ["namespaces", "apps", "quota", key],
        `is ${Math.round(have)}${unit} but the services need ${Math.ceil(need)}${unit} during a rolling update (replicas + 1 surge pod each); raise the quota or shrink the services`,
      );
    }
  }
  const pods = services.reduce((acc, s) => acc + s.replicas + 1, 0);
  if (pods > q.pods) {
    issue(
      ["namespaces", "apps", "quota", "pods"],
      `is ${q.pods} but the services need ${pods} pods during a rolling update`,
    );
  }
}

/** One problem found in the configuration, addressed by its full config key path. */
export interface ConfigProblem {
  key: string;
  message: string;
}

/** The result of validating a stack's configuration: the typed, frozen config or every problem. */
export type ValidationResult =
  { ok: true; config: Readonly<PlatformConfig> } | { ok: false; problems: ConfigProblem[] };

/**
 * Validates raw stack configuration values (key without the project prefix -> parsed value) and
 * returns either the frozen config or ALL problems, each naming the key, the bad value (never for
 * secrets) and what is allowed.
 */
export function validateConfig(raw: Record<string, unknown>, project: string): ValidationResult {
  const result = configSchema.safeParse(raw, { reportInput: true });
  const problems = result.success
    ? []
    : result.error.issues.flatMap((i) => describe(i, raw, project));
  crossFieldRules(parts(raw), (path, message) =>
    problems.push({ key: keyOf(path, project), message }),
  );
  if (result.success && problems.length === 0) return { ok: true, config: deepFreeze(result.data) };
  problems.sort((a, b) => a.key.localeCompare(b.key));
  return { ok: false, problems };
}

/** What a missing top-level key is for and how to set it. */
const REQUIRED_HINTS: Record<string, string> = {
  backupVerifyIdentity:
    "the private age key of the backup verification job (pulumi config set --secret backupVerifyIdentity < verify-key.txt)",
};

const typeNames: Record<string, string> = {
  int: "a whole number",
  number: "a whole number",
  object: "a map",
  array: "a list",
  string: "a string",
  boolean: "true or false",
};

/** `project:cluster.nodes[0].name` for the path ["cluster", "nodes", 0, "name"]. */
function keyOf(path: PropertyKey[], project: string): string {
  const [top, ...rest] = path.map(String);
  const head = `${project}:${top ?? ""}`;
  return rest.reduce((acc, p) => (/^\d+$/.test(p) ? `${acc}[${p}]` : `${acc}.${p}`), head);
}

function describe(
  i: z.core.$ZodIssue,
  raw: Record<string, unknown>,
  project: string,
): ConfigProblem[] {
  const secret = (SECRET_KEYS as readonly string[]).includes(String(i.path[0]));
  const shown = (v: unknown) => (secret ? "[secret]" : JSON.stringify(v));
  switch (i.code) {
    case "unrecognized_keys": {
      const allowed = allowedKeys(i.path, raw);
      return i.keys.map((k) => ({
        key: keyOf([...i.path, k], project),
        message: `is not a known setting${allowed ? `; allowed keys here are: ${allowed.join(", ")}` : ""}`,
      }));
    }
    case "invalid_value":
      return [
        {
          key: keyOf(i.path, project),
          message: `${i.input === undefined ? "is required and " : ""}must be one of ${i.values
            .map((v) => JSON.stringify(v))
            .join(", ")}${i.input === undefined ? "" : ` (got ${shown(i.input)})`}`,
        },
      ];
    case "invalid_type": {
      const expected = typeNames[i.expected] ?? `a ${i.expected}`;
      const hint = i.path.length === 1 ? REQUIRED_HINTS[String(i.path[0])] : undefined;
      if (i.input === undefined && hint)
        return [{ key: keyOf(i.path, project), message: `is required: ${hint}` }];
      return [
        {
          key: keyOf(i.path, project),
          message:
            i.input === undefined
              ? `is required (${expected})`
              : `must be ${expected} (got ${shown(i.input)})`,
        },
      ];
    }
    case "invalid_key":
      return [
        {
          key: keyOf(i.path, project),
          message: `is not an allowed key: ${i.issues.map((x) => x.message).join("; ")}`,
        },
      ];
    default: {
      const got =
        "input" in i && i.input !== undefined && typeof i.input !== "object"
          ? ` (got ${shown(i.input)})`
          : "";
      return [{ key: keyOf(i.path, project), message: `${i.message}${got}` }];
    }
  }
}

/** The keys the schema allows at a config path, for "unknown key" messages. */
function allowedKeys(path: PropertyKey[], _raw: Record<string, unknown>): string[] | undefined {
  let s: z.ZodType = configSchema;
  for (const p of path) {
    s = unwrap(s);
    if (s instanceof z.ZodObject) s = s.shape[String(p)] as z.ZodType;
    else if (s instanceof z.ZodArray) s = s.element as z.ZodType;
    else return undefined;
    if (!s) return undefined;
  }
  s = unwrap(s);
  return s instanceof z.ZodObject ? Object.keys(s.shape) : undefined;
}

function unwrap(s: z.ZodType): z.ZodType {
  let cur: z.ZodType = s;
  for (;;) {
    if (cur instanceof z.ZodOptional || cur instanceof z.ZodDefault)
      cur = cur.unwrap() as z.ZodType;
    else if (cur instanceof z.ZodPipe) cur = cur.in as z.ZodType;
    else return cur;
  }
}

function deepFreeze<T>(o: T): Readonly<T> {
  if (o && typeof o === "object") {
    Object.values(o).forEach((v) => deepFreeze(v));
    Object.freeze(o);
  }
  return o;
}
