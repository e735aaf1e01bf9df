/**
 * The Alertmanager configuration: routing by severity, grouping, inhibition and the receivers from
 * the stack config. Pure; credentials arrive as plain strings here and the component puts the result
 * in a Kubernetes Secret only (never a ConfigMap, never a log).
 */

export type AlertSeverity = "critical" | "warning";

/** One receiver from the stack config: where alerts of the listed severities go. */
export interface ReceiverSpec {
  /** Receiver name (unique). */
  name: string;
  /** Severities it receives. */
  severities: AlertSeverity[];
  /** POST the alerts as JSON to this URL. */
  webhook?: { url: string };
  /** E-mail the alerts (SMTP settings are global). */
  email?: { to: string };
  /** Post to a Slack channel through the incoming-webhook URL (a secret). */
  slack?: { channel: string };
}

export interface AlertmanagerParams {
  receivers: ReceiverSpec[];
  /** SMTP settings; required when a receiver sends e-mail. */
  smtp?: { smarthost: string; from: string; authUsername?: string; requireTls?: boolean };
  /** Secret values: the SMTP password and the Slack incoming-webhook URL. */
  secrets: { smtpPassword?: string; slackApiUrl?: string };
}

/** Alerts that carry these labels are silenced while a matching source alert fires. */
export const INHIBITIONS = [
  {
    // One page for one cause: a node that is not ready silences the alerts of its pods and
    // targets, which all carry the `node` label.
    source_matchers: ['alertname="KubeNodeNotReady"'],
    target_matchers: ['alertname!="KubeNodeNotReady"'],
    equal: ["node"],
  },
  {
    // A critical alert silences the warning of the same name on the same object.
    source_matchers: ['severity="critical"'],
    target_matchers: ['severity="warning"'],
    equal: ["alertname", "namespace", "instance"],
  },
];

/** The receiver that drops alerts (Watchdog, severity none). */
export const NULL_RECEIVER = "null";

export function alertmanagerConfig(p: AlertmanagerParams): Record<string, unknown> {
  const routes: Record<string, unknown>[] = [
    { receiver: NULL_RECEIVER, matchers: ['alertname="Watchdog"'] },
    { receiver: NULL_RECEIVER, matchers: ['severity="none"'] },
  ];
  for (const severity of ["critical", "warning"] as const) {
    for (const r of p.receivers.filter((x) => x.severities.includes(severity))) {
      routes.push({
        receiver: r.name,
        matchers: [`severity="${severity}"`],
        // Critical alerts are repeated more often than warnings.
        ...(severity === "critical" ? { repeat_interval: "1h" } : {}),
        continue: true,
      });
    }
  }
  const global: Record<string, unknown> = { resolve_timeout: "5m" };
  if (p.smtp) {
    global.smtp_smarthost = p.smtp.smarthost;
    global.smtp_from = p.smtp.from;
    global.smtp_require_tls = p.smtp.requireTls ?? true;
    if (p.smtp.authUsername) {
      global.smtp_auth_username = p.smtp.authUsername;
      global.smtp_auth_password = p.secrets.smtpPassword ?? "";
    }
  }
  if (p.secrets.slackApiUrl) global.slack_api_url = p.secrets.slackApiUrl;
  const annotation = (a: string) => `{{ range .Alerts }}{{ .Annotations.${a} }}\n{{ end }}`;
  return {
    global,
    route: {
      // Alerts without a severity still reach someone: the first receiver of warnings.
      receiver: p.receivers.find((r) => r.severities.includes("warning"))?.name ?? NULL_RECEIVER,
      group_by: ["alertname", "namespace"],
      group_wait: "30s",
      group_interval: "5m",
      repeat_interval: "12h",
      routes,
    },
    inhibit_rules: INHIBITIONS,
    receivers: [
      { name: NULL_RECEIVER },
      ...p.receivers.map((r) => ({
        name: r.name,
        ...(r.webhook
          ? { webhook_configs: [{ url: r.webhook.url, send_resolved: true, max_alerts: 20 }] }
          : {}),
        ...(r.email
          ? {
              email_configs: [
                {
                  to: r.email.to,
                  send_resolved: true,
                  headers: { Subject: "[{{ .Status | toUpper }}] {{ .CommonLabels.alertname }}" },
                },
              ],
            }
          : {}),
        ...(r.slack
          ? {
              slack_configs: [
                {
                  channel: r.slack.channel,
                  send_resolved: true,
                  title: "[{{ .Status | toUpper }}] {{ .CommonLabels.alertname }}",
                  text: annotation("description") + annotation("runbook"),
                },
              ],
            }
          : {}),
      })),
    ],
  };
}
