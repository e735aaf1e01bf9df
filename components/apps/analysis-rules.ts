/**
 * The analysis rules of audit-log-analysis: what they are, and the file the service reads them from.
 *
 * Pure (no Pulumi): the stack schema validates rules with `ANALYSIS_RULE_LIMITS` and the same
 * patterns, and `AuditFlowService` renders them into a ConfigMap with `renderRules`.
 *
 * File-watch contract with the service: the ConfigMap is mounted as a directory at `RULES_DIR`
 * (never with subPath, which the kubelet does not update). It holds one file, `rules.json`
 * (`{"schemaVersion": 1, "checksum": "<sha256 of rules>", "rules": [...]}`). When the ConfigMap
 * changes, the kubelet writes the new files into a fresh hidden directory and swaps the `..data`
 * symlink in one rename, within its sync period (about a minute); the service watches `RULES_DIR`
 * for that rename (inotify IN_MOVED_TO/IN_CREATE on `..data`, or polls `rules.json`'s checksum every
 * few seconds), reloads `rules.json` whole, and keeps its current rules when the new file does not
 * parse. No pod restarts: the pod template never changes with the rules.
 */
import { createHash } from "node:crypto";
import { dns1123LabelPattern } from "../lib/formats";

export const RULE_SEVERITIES = ["info", "low", "medium", "high", "critical"] as const;
export type RuleSeverity = (typeof RULE_SEVERITIES)[number];
export const RULE_GROUP_BY = ["actor", "resource", "sourceIp"] as const;
export const RULE_OUTCOMES = ["success", "failure"] as const;

/** One analysis rule: which audit events it matches and when it raises a finding. */
export interface AnalysisRule {
  /** Kebab-case identifier, unique in the stack; findings carry it. */
  id: string;
  /** What the rule detects, shown with its findings. */
  description: string;
  /** Severity of a finding. `high` and `critical` findings are also published as alerts. */
  severity: RuleSeverity;
  /** Conditions, all of which an event must meet (each list matches any of its glob patterns). */
  match: {
    eventTypes?: string[];
    actors?: string[];
    resources?: string[];
    outcome?: (typeof RULE_OUTCOMES)[number];
  };
  /** Raise a finding only after `count` matches within `windowSeconds` (per groupBy key). */
  threshold?: {
    count: number;
    windowSeconds: number;
    groupBy?: (typeof RULE_GROUP_BY)[number][];
  };
  /** Whether the rule is evaluated. Defaults to true. */
  enabled?: boolean;
}

/** Bounds the schema enforces, shared with the renderer's own checks. */
export const ANALYSIS_RULE_LIMITS = {
  idPattern: dns1123LabelPattern,
  /** Glob patterns: letters, digits and `. _ : / - @`, with `*` as the wildcard. */
  globPattern: /^[A-Za-z0-9._:/@*-]{1,253}$/,
  maxRules: 200,
  maxCount: 100000,
  maxWindowSeconds: 86400,
  maxDescription: 500,
  /** A ConfigMap holds at most 1 MiB; keep the rendered file well below it. */
  maxRenderedBytes: 512 * 1024,
} as const;

/** Where the rules directory is mounted, and the variable that tells the service. */
export const RULES_DIR = "/etc/auditflow/rules";
export const RULES_FILE = "rules.json";

/**
 * The ConfigMap data for a set of rules: `rules.json`, rules sorted by id with keys in a fixed
 * order, so the same rules always render the same bytes (no spurious update) and a checksum the
 * service can compare. Throws when the rules break a limit, naming the rule.
 */
export function renderRules(rules: readonly AnalysisRule[]): Record<string, string> {
  const problems = ruleProblems(rules);
  if (problems.length) throw new Error(`analysis rules: ${problems.join("; ")}`);
  const normalized = [...rules]
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
    .map((r) => ({
      id: r.id,
      description: r.description,
      severity: r.severity,
      enabled: r.enabled ?? true,
      match: {
        eventTypes: r.match.eventTypes,
        actors: r.match.actors,
        resources: r.match.resources,
        outcome: r.match.outcome,
      },
      threshold: r.threshold && {
        count: r.threshold.count,
        windowSeconds: r.threshold.windowSeconds,
        groupBy: r.threshold.groupBy,
      },
    }));
  const body = JSON.stringify(normalized);
  const checksum = createHash("sha256").update(body).digest("hex");
  const text = `${JSON.stringify({ schemaVersion: 1, checksum, rules: normalized }, null, 2)}\n`;
  if (Buffer.byteLength(text) > ANALYSIS_RULE_LIMITS.maxRenderedBytes) {
    throw new Error(
      `analysis rules: the rendered ${RULES_FILE} is ${Buffer.byteLength(text)} bytes; at most ${ANALYSIS_RULE_LIMITS.maxRenderedBytes} fit (split or shorten the rules)`,
    );
  }
  return { [RULES_FILE]: text };
}

/** Problems the component checks itself (the schema reports the same ones with full keys). */
export function ruleProblems(rules: readonly AnalysisRule[]): string[] {
  const L = ANALYSIS_RULE_LIMITS;
  const problems: string[] = [];
  if (rules.length > L.maxRules) problems.push(`at most ${L.maxRules} rules (got ${rules.length})`);
  const seen = new Set<string>();
  for (const r of rules) {
    const where = `rule "${r.id}"`;
    if (!L.idPattern.test(r.id)) problems.push(`${where}: id must be a kebab-case DNS-1123 label`);
    if (seen.has(r.id)) problems.push(`${where}: duplicate id`);
    seen.add(r.id);
    const m = r.match;
    if (!m.eventTypes?.length && !m.actors?.length && !m.resources?.length && !m.outcome)
      problems.push(`${where}: match needs at least one condition`);
    for (const g of [...(m.eventTypes ?? []), ...(m.actors ?? []), ...(m.resources ?? [])])
      if (!L.globPattern.test(g)) problems.push(`${where}: pattern "${g}" is not a glob pattern`);
    const t = r.threshold;
    const within = (v: number, max: number) => Number.isInteger(v) && v >= 1 && v <= max;
    if (t && !within(t.count, L.maxCount))
      problems.push(`${where}: threshold.count must be 1-${L.maxCount}`);
    if (t && !within(t.windowSeconds, L.maxWindowSeconds))
      problems.push(`${where}: threshold.windowSeconds must be 1-${L.maxWindowSeconds}`);
  }
  return problems;
}
