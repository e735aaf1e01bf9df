/** Renders a pack report for people (text, a pull-request comment) and machines (JSON, SARIF). */
import { registry } from "../policies";
import type { PackReport, ResourceRef, Violation } from "./evaluate";

export type ReportFormat = "text" | "json" | "sarif" | "markdown";
export const FORMATS: ReportFormat[] = ["text", "json", "sarif", "markdown"];

const where = (r: ResourceRef) =>
  `${r.type.split(":").pop()} ${r.namespace ? `${r.namespace}/` : ""}${r.name}`;

function byResource(violations: Violation[]): Map<string, Violation[]> {
  const groups = new Map<string, Violation[]>();
  for (const v of violations) {
    const key = where(v.resource);
    groups.set(key, [...(groups.get(key) ?? []), v]);
  }
  return groups;
}

const order = (a: Violation, b: Violation) =>
  (a.enforcement === b.enforcement ? 0 : a.enforcement === "mandatory" ? -1 : 1) ||
  a.policy.localeCompare(b.policy);

function text(report: PackReport): string {
  const out: string[] = [];
  const s = report.summary;
  out.push(
    `Policy pack auditflow-kubernetes${report.stack ? ` (stack ${report.stack})` : ""}: ${s.policies} policies over ${s.resources} resources`,
  );
  for (const [resource, vs] of byResource([...report.violations].sort(order))) {
    out.push("", `  ${resource}`);
    for (const v of vs) out.push(`    [${v.enforcement}] ${v.policy}: ${v.message}`);
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
    `Policy summary: ${s.mandatory} mandatory, ${s.advisory} advisory violation(s), ${s.exemptions} exemption(s)` +
      (s.mandatory > 0 ? " — mandatory violations block this stack" : ""),
  );
  return out.join("\n");
}

function markdown(report: PackReport): string {
  const s = report.summary;
  const mandatory = report.violations.filter((v) => v.enforcement === "mandatory").sort(order);
  const advisory = report.violations.filter((v) => v.enforcement === "advisory").sort(order);
  const row = (v: Violation) =>
    `| \`${v.policy}\` | ${where(v.resource)} | ${v.message.replace(/\|/g, "\\|")} |`;
  const out = [
    `### Policy check${report.stack ? ` — stack \`${report.stack}\`` : ""}: ${s.mandatory ? `❌ ${s.mandatory} mandatory` : "✅ no mandatory"} violation(s)`,
    "",
    `${s.policies} policies over ${s.resources} resources · ${s.advisory} advisory · ${s.exemptions} exemption(s)`,
  ];
  if (mandatory.length)
    out.push(
      "",
      "#### Mandatory (blocks the update)",
      "",
      "| Policy | Resource | What and how to fix |",
      "| --- | --- | --- |",
      ...mandatory.map(row),
    );
  if (advisory.length) {
    out.push(
      "",
      `<details><summary>Advisory (${advisory.length})</summary>`,
      "",
      "| Policy | Resource | What and how to fix |",
      "| --- | --- | --- |",
      ...advisory.map(row),
      "",
      "</details>",
    );
  }
  if (report.exemptions.length) {
    out.push(
      "",
      "#### Exemptions",
      "",
      "| Policy | Resource | Reason | Declared in |",
      "| --- | --- | --- | --- |",
    );
    for (const e of report.exemptions)
      out.push(`| \`${e.policy}\` | ${where(e.resource)} | ${e.reason} | ${e.source} |`);
  }
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
            rules: names.map((n) => ({
              id: n,
              name: n,
              shortDescription: { text: registry.get(n)?.description ?? n },
              help: { text: registry.get(n)?.fix ?? "" },
              properties: { theme: registry.get(n)?.theme },
            })),
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

/** Renders the report; `artifact` maps a resource to the file it came from (SARIF locations). */
export function formatReport(
  report: PackReport,
  format: ReportFormat,
  artifact?: (r: ResourceRef) => string | undefined,
): string {
  switch (format) {
    case "text":
      return text(report);
    case "json":
      return JSON.stringify(report, null, 2);
    case "sarif":
      return sarif(report, artifact);
    case "markdown":
      return markdown(report);
  }
}
