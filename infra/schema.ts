/**
 * The shapes of the stack configuration: every key the program reads, its type and range (zod).
 *
 * The rules that span keys are in `schema-rules.ts`, the translation of zod's issues into messages
 * that name the key in `schema-messages.ts`, and `validate.ts` puts the three together.
 */
import { z } from "zod";
import { bytes, bytesPattern, cpuMillis, cpuPattern } from "../components/lib/quantity";
import { parseImage } from "../components/lib/image";
import {
  ageRecipientPattern,
  cronPattern,
  dns1123LabelPattern,
  sha256Pattern,
} from "../components/lib/formats";
import {
  ipv4CidrPattern,
  ipv4Pattern,
  ipv4Source,
  s3BucketPattern,
  s3PrefixPattern,
} from "../components/lib/net";
import { EVICTION_POLICIES } from "../components/data/redis-config";
import { ingressSchema } from "./ingress-schema";

import { SERVICE_NAMES } from "../components/apps/catalog";
import { autoscalingSchema, rulesSchema } from "./service-options";
import { buildSchema, imagesSchema } from "./images-config";
import { monitoringSchema } from "./monitoring-schema";

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
  "registryPassword",
  "acmeDns01Secret",
  "alertmanagerSmtpPassword",
  "alertmanagerSlackApiUrl",
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
        : key === "registryPassword"
          ? at(raw.images, "push") === true
          : key === "acmeDns01Secret"
            ? at(at(raw.ingress, "acme"), "solver") === "dns01"
            : key === "alertmanagerSmtpPassword"
              ? at(at(at(raw.monitoring, "alertmanager"), "smtp"), "authUsername") !== undefined
              : key === "alertmanagerSlackApiUrl"
                ? receiversOf(raw).some((r) => at(r, "slack") !== undefined)
                : true,
  );
}

/** The Alertmanager receivers as given, for secretsNeeded. */
function receiversOf(raw: Record<string, unknown>): unknown[] {
  const m = raw.monitoring as { alertmanager?: { receivers?: unknown } } | undefined;
  const r = m?.alertmanager?.receivers;
  return Array.isArray(r) ? r : [];
}

const dns1123Label = dns1123LabelPattern;
const dnsName = "[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*";
const hostOrIp = new RegExp(`^(${ipv4Source}|${dnsName})$`);

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

/** Five-field cron expression. */
const cron = z.string().regex(cronPattern, { error: "must be a five-field cron expression" });
const ipv4Address = z.string().regex(ipv4Pattern, { error: "must be an IPv4 address" });
const logSize = z
  .string()
  .regex(/^[1-9]\d*(Ki|Mi|Gi)$/, { error: "must be a size such as 10Mi (Ki, Mi or Gi)" });
const journalSize = z
  .string()
  .regex(/^[1-9]\d*[KMG]$/, { error: "must be a journald size such as 500M (K, M or G)" });

const sha256 = z.string().regex(sha256Pattern, {
  error: "must be a SHA-256: 64 lower-case hex digits (sha256sum FILE)",
});
const localFile = z.string().min(1, { error: "must be a path on the machine running pulumi up" });
/** One architecture's K3s release files for an air-gapped install. */
const airgapFiles = z.strictObject({
  /** The K3s binary (release asset k3s or k3s-arm64). */
  k3sBinary: localFile,
  k3sBinarySha256: sha256,
  /** k3s-airgap-images-<arch>.tar, .tar.gz or .tar.zst (K3s loads it by its extension). */
  images: localFile.regex(/\.tar(\.gz|\.zst)?$/, {
    error: "must be the airgap images tarball: a file ending in .tar, .tar.gz or .tar.zst",
  }),
  imagesSha256: sha256,
});

/**
 * The K3s lifecycle settings (issue #11): installer pin, host firewall, virtual IP, log limits,
 * etcd snapshots, upgrade timeouts. Used with provisioning "ssh".
 */
const clusterLifecycleKeys = {
  installScriptSha256: z
    .string()
    .regex(sha256Pattern, {
      error: "must be the installer's SHA-256: 64 lower-case hex digits (sha256sum install.sh)",
    })
    .optional(),
  adminCidrs: z
    .array(
      z.string().regex(ipv4CidrPattern, { error: "must be an IPv4 CIDR such as 192.168.50.0/24" }),
    )
    .min(1, {
      error:
        "must list at least one network (the firewall admits SSH and the API only from these and the nodes)",
    })
    .optional(),
  vip: z
    .strictObject({
      address: ipv4Address,
      interface: z.string().regex(/^[a-zA-Z0-9_.-]{1,15}$/, {
        error: "must be a network interface name such as eth0",
      }),
      servicesRange: z.string().superRefine((v, ctx) => {
        const range = v.split("-");
        const ok =
          ipv4CidrPattern.test(v) ||
          (range.length === 2 && range.every((a) => ipv4Pattern.test(a)));
        if (!ok)
          ctx.addIssue({
            code: "custom",
            message: "must be an IPv4 range a.b.c.d-a.b.c.e or a CIDR such as 192.168.70.200/29",
          });
      }),
    })
    .optional(),
  containerLogs: z.strictObject({ maxSize: logSize, maxFiles: positiveInt(20) }).optional(),
  journal: z.strictObject({ maxUse: journalSize, maxFile: journalSize }).optional(),
  etcdSnapshots: z
    .strictObject({
      schedule: cron,
      retention: positiveInt(100),
      offsite: z.boolean().optional(),
    })
    .optional(),
  drainTimeoutSeconds: positiveInt(7200).optional(),
  /**
   * Air-gapped install: the release's install.sh and, per node architecture, the K3s binary and the
   * airgap images tarball, all on the machine running `pulumi up`, with their SHA-256 digests (the
   * installer's is installScriptSha256). They are copied to each node and checked there; nothing is
   * downloaded.
   */
  airgap: z
    .strictObject({
      installScript: localFile,
      arm64: airgapFiles.optional(),
      amd64: airgapFiles.optional(),
    })
    .optional(),
};

export const clusterSchema = z.strictObject({
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
  ...clusterLifecycleKeys,
});

const placementSchema = z.strictObject({
  nodes: z.array(z.string()).min(1, { error: "must list at least one node" }).optional(),
  arch: z.enum(ARCHITECTURES).optional(),
});

export const serviceSchema = z.strictObject({
  name: z.enum(SERVICE_NAMES),
  image: image.optional(),
  build: buildSchema.optional(),
  /** Fixed pod count; exactly one of replicas and autoscaling (serviceOptionRules). */
  replicas: positiveInt(20).optional(),
  autoscaling: autoscalingSchema.optional(),
  /** Analysis rules (audit-log-analysis only), hot-reloaded from a ConfigMap. */
  rules: rulesSchema.optional(),
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

export const dataSchema = z.strictObject({
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
    schedule: cron,
    verifySchedule: cron,
    keep: positiveInt(90),
    storage,
    recipients: z
      .array(
        z.string().regex(ageRecipientPattern, { error: "must be an age public key (age1...)" }),
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
  registryPassword: z.string().min(1).optional(),
  images: imagesSchema.optional(),
  acmeDns01Secret: z.string().min(1).optional(),
  alertmanagerSmtpPassword: z.string().min(1).optional(),
  alertmanagerSlackApiUrl: z
    .string()
    .regex(/^https:\/\/\S+$/, { error: "must be an https:// incoming-webhook URL" })
    .optional(),
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
  ingress: ingressSchema,
  /** The observability stack (infra/monitoring-schema.ts); absent means none. */
  monitoring: monitoringSchema.optional(),
};

/** The whole stack configuration, as `infra/config.ts` hands it to the program. */
export const configSchema = z.strictObject(sections);
export type PlatformConfig = z.infer<typeof configSchema>;
