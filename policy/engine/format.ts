/**
 * Renders a pack report for people (text, a pull-request comment) and machines (JSON, SARIF).
 *
 * People see findings grouped: one group per policy and level, the objects listed compactly, the
 * fix said once, mandatory first and the largest groups first, so a reviewer sees the top problems
 * before the long tail. The Markdown comment stays under GitHub's 65,536-character limit however
 * many findings there are, and says how many it left out and where the full report is.
 */
import { parseMessage, Severity } from "../lib/define";
import { registry } from "../policies";
import type { PackReport, ResourceRef, Violation } from "./evaluate";

export type ReportFormat = "text" | "json" | "sarif" | "markdown";
export const FORMATS: ReportFormat[] = ["text", "json", "sarif", "markdown"];

/** GitHub's limit for a pull-request comment. */
export const COMMENT_LIMIT = 65_536;

export interface FormatOptions {
  /** The file a resource came from (SARIF locations). */
  artifact?: (r: ResourceRef) => string | undefined;
  /** Whether this project wrote the object; others get the generic fix, not our helpers'. */
  ours?: (r: ResourceRef) => boolean;
  /** Where the full report is, for the Markdown comment's summary of what it left out. */
  fullReport?: string;
}

const where = (r: ResourceRef) =>
  `${r.type.split(":").pop()} ${r.namespace ? `${r.namespace}/` : ""}${r.name}`;

interface Finding {
  resource: ResourceRef;
  problem: string;
}

/** Findings of one policy at one level with one fix. */
interface Group {
  policy: string;
  enforcement: Violation["enforcement"];
  severity?: Severity;
  rationale?: string;
  link?: string;
  fix: string;
  findings: Finding[];
}

/** Most severe first; a policy without a severity after every one with. */
const SEVERITY_RANK: Record<Severity, number> = { critical: 0, high: 1, medium: 2, low: 3 };
const rank = (s: Severity | undefined) => (s ? SEVERITY_RANK[s] : 4);

/**
 * Groups sorted as a reviewer works through them: mandatory before advisory, then by severity
 * (critical first), then the largest groups first, then by policy name.
 */
function groupsOf(report: PackReport, opts: FormatOptions): Group[] {
  const groups = new Map<string, Group>();
  for (const v of report.violations) {
    const { problem, fix: own } = parseMessage(v.message);
    const meta = registry.get(v.policy);
    const fix = opts.ours && !opts.ours(v.resource) && meta?.genericFix ? meta.genericFix : own;
    const key = `${v.enforcement}\u0000${v.policy}\u0000${fix}`;
    let g = groups.get(key);
    if (!g) {
      const { policy, enforcement, severity, rationale, link } = v;
      g = { policy, enforcement, severity, rationale, link, fix, findings: [] };
      groups.set(key, g);
    }
    g.findings.push({ resource: v.resource, problem });
  }
  return [...groups.values()].sort(
    (a, b) =>
      (a.enforcement === b.enforcement ? 0 : a.enforcement === "mandatory" ? -1 : 1) ||
      rank(a.severity) - rank(b.severity) ||
      b.findings.length - a.findings.length ||
      a.policy.localeCompare(b.policy),
  );
}

/** `<rationale> See <link>`, or as much of it as the policy declares. */
function why(g: Group): string | undefined {
  const parts = [g.rationale, g.link && `See ${g.link}`].filter(Boolean);
  return parts.length ? parts.join(" ") : undefined;
}

/** `Deployment a/x, Service a/y and 12 more`. */
function objectsList(findings: Finding[], max: number): string {
  const names = [...new Set(findings.map((f) => where(f.resource)))];
  const shown = names.slice(0, max).join(", ");
  return names.length > max ? `${shown} and ${names.length - max} more` : shown;
}

function text(report: PackReport, opts: FormatOptions): string {
  const s = report.summary;
  const groups = groupsOf(report, opts);
  const out = [
    `Policy pack auditflow-kubernetes${report.stack ? ` (stack ${report.stack})` : ""}: ${s.policies} policies over ${s.resources} resources`,
  ];
  for (const g of groups) {
    const n = g.findings.length;
    const sev = g.severity ? ` (${g.severity})` : "";
    out.push("", `  [${g.enforcement}] ${g.policy}${sev}: ${n} finding${n === 1 ? "" : "s"}`);
    for (const f of g.findings) out.push(`    ${where(f.resource)}: ${f.problem}`);
    if (g.fix) out.push(`    Fix: ${g.fix}`);
    const reason = why(g);
    if (reason) out.push(`    Why: ${reason}`);
  }
  if (report.exemptions.length) {
    out.push("", "  Exemptions:");
    for (const e of report.exemptions)
      out.push(`    ${e.policy} on ${where(e.resource)} (${e.source}): ${e.reason}`);
  }
  if (report.remediations.length) {
    out.push("", "  Remediated:");
    for (const r of report.remediations) out.push(`    ${r.policy} on ${where(r.resource)}`);
  }
  if (report.notices.length) {
    out.push("", "  Notices:");
    for (const n of report.notices)
      out.push(`    ${n.policy} on ${where(n.resource)}: ${n.message}`);
  }
  out.push(
    "",
    `Policy summary: ${s.mandatory} mandatory, ${s.advisory} advisory violation(s), ${s.exemptions} exemption(s), ${groups.length} group(s) of findings` +
      (s.mandatory > 0 ? " — mandatory violations block this stack" : ""),
  );
  return out.join("\n");
}

const cell = (s: string) => s.replace(/\|/g, "\\|").replace(/\n/g, " ");

function groupRow(g: Group): string {
  const first = g.findings[0]!.problem;
  const similar = g.findings.length > 1 ? ` (first of ${g.findings.length})` : "";
  const policy = g.link ? `[\`${g.policy}\`](${g.link})` : `\`${g.policy}\``;
  return `| ${g.severity ?? ""} | ${policy} | ${g.findings.length} | ${cell(objectsList(g.findings, 5))} | ${cell(first)}${similar} | ${cell(g.fix)} |`;
}

const TABLE_HEAD = [
  "| Severity | Policy | Count | Objects | What is wrong | How to fix |",
  "| --- | --- | --- | --- | --- | --- |",
];

/** Lines appended while they fit the budget; returns how many items were left out. */
function fitting(out: string[], lines: string[], budget: number): number {
  let used = out.reduce((n, l) => n + l.length + 1, 0);
  for (let i = 0; i < lines.length; i++) {
    if (used + lines[i]!.length + 1 > budget) return lines.length - i;
    out.push(lines[i]!);
    used += lines[i]!.length + 1;
  }
  return 0;
}

/** One part of the comment: its opening lines, rows shown while they fit, its closing lines. */
interface Section {
  head: string[];
  rows: string[];
  tail?: string[];
}

/** The comment's parts in order: mandatory, advisory (folded), every finding (folded), exemptions. */
function markdownSections(report: PackReport, groups: Group[]): Section[] {
  const mandatory = groups.filter((g) => g.enforcement === "mandatory");
  const advisory = groups.filter((g) => g.enforcement === "advisory");
  const details = groups.flatMap((g) =>
    g.findings.map((f) => `- \`${g.policy}\` ${cell(where(f.resource))}: ${cell(f.problem)}`),
  );
  const sections: Section[] = [];
  if (mandatory.length)
    sections.push({
      head: ["", "#### Mandatory (blocks the update)", "", ...TABLE_HEAD],
      rows: mandatory.map(groupRow),
    });
  if (advisory.length)
    sections.push({
      head: [
        "",
        `<details><summary>Advisory (${report.summary.advisory} in ${advisory.length} groups)</summary>`,
        "",
        ...TABLE_HEAD,
      ],
      rows: advisory.map(groupRow),
      tail: ["", "</details>"],
    });
  if (details.length > groups.length)
    sections.push({
      head: ["", `<details><summary>Every finding (${details.length})</summary>`, ""],
      rows: details,
      tail: ["", "</details>"],
    });
  if (report.exemptions.length)
    sections.push({
      head: [
        "",
        "#### Exemptions",
        "",
        "| Policy | Resource | Reason | Declared in |",
        "| --- | --- | --- | --- |",
      ],
      rows: report.exemptions.map(
        (e) => `| \`${e.policy}\` | ${where(e.resource)} | ${cell(e.reason)} | ${e.source} |`,
      ),
    });
  return sections;
}

function markdown(report: PackReport, opts: FormatOptions): string {
  const s = report.summary;
  const groups = groupsOf(report, opts);
  const out = [
    `### Policy check${report.stack ? ` — stack \`${report.stack}\`` : ""}: ${s.mandatory ? `❌ ${s.mandatory} mandatory` : "✅ no mandatory"} violation(s)`,
    "",
    `${s.policies} policies over ${s.resources} resources · ${s.advisory} advisory · ${s.exemptions} exemption(s) · ${groups.length} group(s) of findings`,
  ];
  // Room kept for the closing lines and the summary of what was left out.
  const budget = COMMENT_LIMIT - 2_000;
  let left = 0;
  for (const section of markdownSections(report, groups)) {
    out.push(...section.head);
    left += fitting(out, section.rows, budget);
    out.push(...(section.tail ?? []));
  }
  if (left > 0)
    out.push(
      "",
      `_${left} more row(s) not shown: a comment is limited to ${COMMENT_LIMIT.toLocaleString("en-US")} characters. ` +
        `The full report: ${opts.fullReport ?? "`npm run policy:check -- --format text` (or `--format json`) on the same input"}._`,
    );
  return out.join("\n");
}

function sarif(report: PackReport, artifact?: (r: ResourceRef) => string | undefined): string {
  const names = [...new Set(report.violations.map((v) => v.policy))].sort();
  const doc = {
    $schema: "https://json.schemastore.org/sarif-2.1.0.json",
    version: "2.1.0",
    runs: [
      {
        tool: {
          driver: {
            name: "auditflow-policy",
            informationUri: "https://www.pulumi.com/docs/iac/packages-and-automation/crossguard/",
            rules: names.map((n) => {
              const meta = registry.get(n);
              return {
                id: n,
                name: n,
                shortDescription: { text: meta?.description ?? n },
                ...(meta && { fullDescription: { text: meta.rationale }, helpUri: meta.link }),
                help: { text: meta?.fix ?? "" },
                properties: { theme: meta?.theme, severity: meta?.severity },
              };
            }),
          },
        },
        results: report.violations.map((v) => {
          const uri = artifact?.(v.resource);
          return {
            ruleId: v.policy,
            ruleIndex: names.indexOf(v.policy),
            level: v.enforcement === "mandatory" ? "error" : "warning",
            message: { text: `${where(v.resource)}: ${v.message}` },
            locations: [
              uri
                ? {
                    physicalLocation: { artifactLocation: { uri } },
                    logicalLocations: [{ fullyQualifiedName: v.resource.urn || where(v.resource) }],
                  }
                : {
                    logicalLocations: [
                      { fullyQualifiedName: v.resource.urn || where(v.resource), kind: "resource" },
                    ],
                  },
            ],
          };
        }),
      },
    ],
  };
  return JSON.stringify(doc, null, 2);
}

/** Renders the report in the given format. */
export function formatReport(
  report: PackReport,
  format: ReportFormat,
  opts: FormatOptions = {},
): string {
  switch (format) {
    case "text":
      return text(report, opts);
    case "json":
      return JSON.stringify(report, null, 2);
    case "sarif":
      return sarif(report, opts.artifact);
    case "markdown":
      return markdown(report, opts);
  }
}
