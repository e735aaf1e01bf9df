/**
 * The `monitoring` section of the stack configuration and its cross-field rules. infra/schema.ts
 * includes it; the checks that need other sections (secrets, quota) run from there.
 */
import { z } from "zod";
import { bytes, bytesPattern, cpuMillis, cpuPattern } from "../components/lib/quantity";

const cpu = z.string().regex(cpuPattern, { error: "must be a CPU quantity such as 250m or 1.5" });
const memory = z
  .string()
  .regex(bytesPattern, { error: "must be a memory quantity such as 128Mi or 1Gi" });
const storage = z.string().regex(bytesPattern, { error: "must be a storage quantity such as 5Gi" });
const resourceList = z.strictObject({ cpu, memory });
const resources = z.strictObject({ requests: resourceList, limits: resourceList });

/** Prometheus durations: 30s, 15m, 12h, 7d, 2w, 1y. */
const promDuration = z
  .string()
  .regex(/^\d+(s|m|h|d|w|y)$/, { error: "must be a duration such as 30s, 12h, 7d or 2w" });
/** Prometheus' retention size units. */
const promSize = z
  .string()
  .regex(/^\d+(B|KB|MB|GB|TB|PB)$/, { error: "must be a size such as 512MB or 3GB" });

const receiver = z.strictObject({
  name: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, {
    error: "must be lower-case letters, digits and '-'",
  }),
  severities: z
    .array(z.enum(["critical", "warning"]))
    .min(1, { error: "must list critical and/or warning" }),
  webhook: z
    .strictObject({
      url: z.string().regex(/^https?:\/\/[^\s/@]+(:\d+)?(\/\S*)?$/, {
        error:
          "must be an http(s) URL without credentials (a token in the URL would be stored in clear text)",
      }),
    })
    .optional(),
  email: z
    .strictObject({
      to: z.string().regex(/^[^\s@]+@[^\s@]+$/, { error: "must be an e-mail address" }),
    })
    .optional(),
  slack: z
    .strictObject({
      channel: z.string().regex(/^[#@][\w.-]+$/, { error: "must be a channel such as #alerts" }),
    })
    .optional(),
});

export const monitoringSchema = z.strictObject({
  enabled: z.boolean({ error: "must be true or false" }),
  scrapeInterval: promDuration.optional(),
  prometheus: z.strictObject({
    retention: promDuration,
    retentionSize: promSize,
    storage,
    resources: resources.optional(),
  }),
  alertmanager: z.strictObject({
    storage: storage.optional(),
    receivers: z.array(receiver),
    smtp: z
      .strictObject({
        smarthost: z
          .string()
          .regex(/^[a-z0-9.-]+:\d+$/, { error: "must be host:port such as smtp.example.net:587" }),
        from: z.string().regex(/^[^\s@]+@[^\s@]+$/, { error: "must be an e-mail address" }),
        authUsername: z.string().min(1).optional(),
        requireTls: z.boolean().optional(),
      })
      .optional(),
    resources: resources.optional(),
  }),
  grafana: z.strictObject({ resources: resources.optional() }).optional(),
  loki: z.strictObject({
    retention: z.string().regex(/^\d+h$/, {
      error: "must be hours, a multiple of 24, such as 168h (Loki's index period is 24h)",
    }),
    storage,
    resources: resources.optional(),
  }),
  kubeStateMetrics: z.strictObject({ resources: resources.optional() }).optional(),
  nodeExporter: z.strictObject({ resources: resources.optional() }).optional(),
  logAgent: z.strictObject({ resources: resources.optional() }).optional(),
  slo: z
    .strictObject({
      availability: z
        .number()
        .min(0.9, { error: "must be at least 0.9" })
        .max(0.9999, { error: "must be at most 0.9999" }),
      latency: z
        .number()
        .min(0.9, { error: "must be at least 0.9" })
        .max(0.9999, { error: "must be at most 0.9999" }),
      latencyThresholdSeconds: z
        .number()
        .positive({ error: "must be a positive number of seconds (a histogram bucket boundary)" }),
    })
    .optional(),
});
export type MonitoringConfig = z.infer<typeof monitoringSchema>;

type Issue = (path: (string | number)[], message: string) => void;

const promBytes = (s: string): number => {
  const m = /^(\d+)(B|KB|MB|GB|TB|PB)$/.exec(s)!;
  const pow = ["B", "KB", "MB", "GB", "TB", "PB"].indexOf(m[2]!);
  // Prometheus' units are powers of 1024.
  return Number(m[1]) * 1024 ** pow;
};

/**
 * Rules across the monitoring keys and the secrets: retention that fits its volume, receivers that
 * can be reached and have their credentials.
 */
export function monitoringRules(
  m: MonitoringConfig,
  secrets: { smtpPassword: unknown; slackApiUrl: unknown },
  issue: Issue,
): void {
  const at = (...p: (string | number)[]) => ["monitoring", ...p];
  const sized: [string, z.infer<typeof resources> | undefined][] = [
    ["prometheus", m.prometheus.resources],
    ["alertmanager", m.alertmanager.resources],
    ["grafana", m.grafana?.resources],
    ["loki", m.loki.resources],
    ["kubeStateMetrics", m.kubeStateMetrics?.resources],
    ["nodeExporter", m.nodeExporter?.resources],
    ["logAgent", m.logAgent?.resources],
  ];
  for (const [part, r] of sized) {
    if (!r) continue;
    if (cpuMillis(r.limits.cpu) < cpuMillis(r.requests.cpu))
      issue(
        at(part, "resources", "limits", "cpu"),
        `limit ${r.limits.cpu} is below the request ${r.requests.cpu}`,
      );
    if (bytes(r.limits.memory) < bytes(r.requests.memory))
      issue(
        at(part, "resources", "limits", "memory"),
        `limit ${r.limits.memory} is below the request ${r.requests.memory}`,
      );
  }
  const p = m.prometheus;
  if (bytes(p.storage) > 0 && promBytes(p.retentionSize) > 0.85 * bytes(p.storage)) {
    issue(
      at("prometheus", "retentionSize"),
      `${p.retentionSize} does not leave room in the ${p.storage} volume for the write-ahead log and compaction (at most 85% of it)`,
    );
  }
  const hours = Number(/^(\d+)h$/.exec(m.loki.retention)?.[1] ?? "24");
  if (hours % 24 !== 0 || hours === 0) {
    issue(at("loki", "retention"), `${m.loki.retention} must be a non-zero multiple of 24h`);
  }
  const names = new Set<string>();
  m.alertmanager.receivers.forEach((r, i) => {
    if (r.name === "null")
      issue(
        at("alertmanager", "receivers", i, "name"),
        '"null" is reserved for the route that drops Watchdog',
      );
    if (names.has(r.name))
      issue(at("alertmanager", "receivers", i, "name"), `duplicate receiver "${r.name}"`);
    names.add(r.name);
    if (!r.webhook && !r.email && !r.slack) {
      issue(at("alertmanager", "receivers", i), "must set webhook, email and/or slack");
    }
    if (r.email && !m.alertmanager.smtp) {
      issue(at("alertmanager", "smtp"), `is required: receiver "${r.name}" sends e-mail`);
    }
    if (r.slack && (secrets.slackApiUrl === undefined || secrets.slackApiUrl === "")) {
      issue(
        ["alertmanagerSlackApiUrl"],
        `is required: receiver "${r.name}" posts to Slack (pulumi config set --secret alertmanagerSlackApiUrl https://hooks.slack.com/...)`,
      );
    }
  });
  if (
    m.alertmanager.smtp?.authUsername &&
    (secrets.smtpPassword === undefined || secrets.smtpPassword === "")
  ) {
    issue(
      ["alertmanagerSmtpPassword"],
      "is required when monitoring.alertmanager.smtp.authUsername is set (pulumi config set --secret alertmanagerSmtpPassword)",
    );
  }
}
