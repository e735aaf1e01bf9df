/**
 * Alert and recording rules as code. Every alert carries a severity, a summary, a description and a
 * runbook line (what to look at first); `ruleFile` turns groups into a Prometheus rule file.
 */

/** How urgent an alert is; Alertmanager routes on it ("none" is for Watchdog, which goes nowhere). */
export type Severity = "critical" | "warning" | "none";

export interface AlertRule {
  alert: string;
  /** PromQL; the alert fires for every series it returns. */
  expr: string;
  /** How long the condition must hold before the alert fires. Defaults to firing at once. */
  for?: string;
  severity: Severity;
  /** One line, may use {{ $labels.x }}. */
  summary: string;
  /** What happened and why it matters; may use {{ $labels.x }}. */
  description: string;
  /** The first thing an operator should do or look at. */
  runbook: string;
}

export interface RecordingRule {
  record: string;
  expr: string;
}

export interface RuleGroup {
  /** Group name (unique in the file). */
  name: string;
  rules: (AlertRule | RecordingRule)[];
}

export const isAlert = (r: AlertRule | RecordingRule): r is AlertRule => "alert" in r;

/** The rule file Prometheus loads (`groups:` with Prometheus' own field names). */
export function ruleFile(groups: readonly RuleGroup[]): { groups: unknown[] } {
  return {
    groups: groups.map((g) => ({
      name: g.name,
      rules: g.rules.map((r) =>
        isAlert(r)
          ? {
              alert: r.alert,
              expr: r.expr,
              ...(r.for ? { for: r.for } : {}),
              labels: { severity: r.severity },
              annotations: {
                summary: r.summary,
                description: r.description,
                runbook: r.runbook,
              },
            }
          : { record: r.record, expr: r.expr },
      ),
    })),
  };
}
