import { RuleGroup } from "./types";

/** Service-level objectives of the AuditFlow services (per service, over 30 days). */
export interface SloParams {
  /** Fraction of requests that must not fail with a 5xx answer, e.g. 0.995. */
  availability: number;
  /** Fraction of requests that must be answered within latencyThresholdSeconds, e.g. 0.99. */
  latency: number;
  /** The latency threshold; must be a bucket boundary (`le`) of the services' histogram. */
  latencyThresholdSeconds: number;
}

/** Windows of the multi-window, multi-burn-rate alerts (Google SRE workbook, chapter 5). */
const WINDOWS = ["5m", "30m", "1h", "2h", "6h", "1d", "3d"] as const;
const PAGE = [
  { long: "1h", short: "5m", factor: 14.4 },
  { long: "6h", short: "30m", factor: 6 },
];
const TICKET = [
  { long: "1d", short: "2h", factor: 3 },
  { long: "3d", short: "6h", factor: 1 },
];

/**
 * Error-rate and latency burn-rate alerts of the AuditFlow services, from the metrics contract in
 * the README: `http_requests_total{code}` and the histogram `http_request_duration_seconds`.
 */
export function serviceSloRules(slo: SloParams, namespace: string): RuleGroup[] {
  const sel = `namespace="${namespace}"`;
  const le = String(slo.latencyThresholdSeconds);
  const by = "by (namespace, job)";
  const recordings = WINDOWS.flatMap((w) => [
    {
      record: `auditflow:http_errors:ratio_rate${w}`,
      expr: `sum ${by} (rate(http_requests_total{${sel},code=~"5.."}[${w}])) / sum ${by} (rate(http_requests_total{${sel}}[${w}]))`,
    },
    {
      record: `auditflow:http_slow:ratio_rate${w}`,
      expr: `1 - sum ${by} (rate(http_request_duration_seconds_bucket{${sel},le="${le}"}[${w}])) / sum ${by} (rate(http_request_duration_seconds_count{${sel}}[${w}]))`,
    },
  ]);
  const burn = (
    metric: string,
    budget: number,
    pairs: { long: string; short: string; factor: number }[],
  ) =>
    pairs
      .map(
        (p) =>
          `(${metric}${p.long} > ${round(p.factor * budget)} and ${metric}${p.short} > ${round(p.factor * budget)})`,
      )
      .join(" or ");
  const errBudget = 1 - slo.availability;
  const latBudget = 1 - slo.latency;
  const err = "auditflow:http_errors:ratio_rate";
  const slow = "auditflow:http_slow:ratio_rate";
  return [
    { name: "auditflow-slo-recordings", rules: recordings },
    {
      name: "auditflow-slo",
      rules: [
        {
          alert: "AuditFlowErrorBudgetBurn",
          expr: burn(err, errBudget, PAGE),
          for: "2m",
          severity: "critical",
          summary:
            "{{ $labels.job }} is failing requests fast enough to spend its monthly error budget in days",
          description: `{{ $labels.job }} answers more than ${round(PAGE[0]!.factor * errBudget * 100)}% (1h and 5m) or ${round(PAGE[1]!.factor * errBudget * 100)}% (6h and 30m) of requests with 5xx; the objective is ${slo.availability * 100}% success.`,
          runbook:
            "Operations dashboard: the service's error rate and its last log lines; check its dependencies (PostgresDown, RedisDown, RabbitMQ alarms) and the last deployment.",
        },
        {
          alert: "AuditFlowErrorBudgetBurnSlow",
          expr: burn(err, errBudget, TICKET),
          for: "15m",
          severity: "warning",
          summary: "{{ $labels.job }} is steadily spending its error budget",
          description: `{{ $labels.job }} has failed more than ${round(TICKET[0]!.factor * errBudget * 100)}% of requests over a day (or over ${round(errBudget * 100)}% over 3 days).`,
          runbook:
            "Operations dashboard: find the failing endpoint in the service's logs; plan the fix before the budget is gone.",
        },
        {
          alert: "AuditFlowLatencyBudgetBurn",
          expr: burn(slow, latBudget, PAGE),
          for: "2m",
          severity: "critical",
          summary: `{{ $labels.job }} answers too many requests slower than ${le}s`,
          description: `More than ${round(PAGE[0]!.factor * latBudget * 100)}% of {{ $labels.job }}'s requests take over ${le}s (1h and 5m windows); the objective is ${slo.latency * 100}% within ${le}s.`,
          runbook:
            "Check CPU throttling and node load (Cluster dashboard), PgBouncer waiting clients and slow queries.",
        },
        {
          alert: "AuditFlowLatencyBudgetBurnSlow",
          expr: burn(slow, latBudget, TICKET),
          for: "15m",
          severity: "warning",
          summary: `{{ $labels.job }} is steadily slower than ${le}s`,
          description: `{{ $labels.job }}'s share of requests slower than ${le}s has spent its latency budget at ${TICKET[0]!.factor}x over a day (or 1x over 3 days).`,
          runbook:
            "Look for a slow dependency or a growing table; plan the fix before the budget is gone.",
        },
      ],
    },
  ];
}

/**
 * Certificates Traefik serves expiring within 14 days (from its own TLS store). cert-manager's
 * alerts belong to the ingress component (components/ingress/cert-manager.ts) and reach the rule
 * file through RuleParams.extraGroups.
 */
export function traefikCertificateRules(): RuleGroup {
  return {
    name: "traefik-certificates",
    rules: [
      {
        alert: "TraefikCertificateExpiringSoon",
        expr: "(max by (cn, sans) (traefik_tls_certs_not_after) - time()) < 14 * 86400",
        for: "1h",
        severity: "warning",
        summary: "Certificate {{ $labels.cn }} served by Traefik expires within 14 days",
        description:
          "A certificate Traefik serves ({{ $labels.cn }}; {{ $labels.sans }}) expires in less than 14 days.",
        runbook:
          "Find the Secret or resolver that provides it and renew it; check cert-manager's Certificate for that host.",
      },
    ],
  };
}

/** Meta alerts: the pipeline itself works (Watchdog) and every target is scraped (TargetDown). */
export function metaRules(): RuleGroup {
  return {
    name: "meta",
    rules: [
      {
        alert: "Watchdog",
        expr: "vector(1)",
        severity: "none",
        summary: "Alerting pipeline heartbeat (always firing)",
        description:
          "Always fires so that the pipeline from Prometheus to Alertmanager is known to work; routed to no receiver.",
        runbook: "Nothing to do; its absence in Alertmanager means Prometheus cannot reach it.",
      },
      {
        alert: "TargetDown",
        expr: "100 * (count by (namespace, job) (up == 0) / count by (namespace, job) (up)) > 10",
        for: "10m",
        severity: "warning",
        summary: "{{ $labels.job }} targets in {{ $labels.namespace }} cannot be scraped",
        description:
          "More than 10% of the {{ $labels.job }} targets in {{ $labels.namespace }} have been down for 10 minutes.",
        runbook:
          "Prometheus UI, Status > Targets: the scrape error; check the pod runs and its NetworkPolicy admits the monitoring namespace.",
      },
    ],
  };
}

function round(x: number): number {
  return Math.round(x * 1e6) / 1e6;
}
