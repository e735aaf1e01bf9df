/**
 * The pull request's policy report for one stack, from the offline plan (the real program under the
 * mock runtime, the same pack and the stack's pack config as `pulumi preview --policy-pack`):
 *
 *   tsx scripts/ci/policy-report.ts --stack <s> --out <dir> [--config-file PATH]
 *
 * Writes into <dir>: comment.md (the pack's Markdown report with the stack's comment marker, at most
 * GitHub's 65,536 characters; when the report is longer, a summary that points to the artifact),
 * report.md (the whole Markdown report), report.sarif (SARIF 2.1.0 for code scanning; results point
 * at the stack file) and report.json. The formats are policy/engine/format.ts's.
 *
 * Exit codes: the plan's (0 clean, 1 mandatory violations, 2 the plan failed).
 */
import * as fs from "fs";
import * as path from "path";
import { parseArgs } from "util";
import type { PackReport } from "../../policy/engine/evaluate";
import { formatReport } from "../../policy/engine/format";
import { planJson } from "../lib/plan-json";

/** GitHub's limit on a comment body. */
export const COMMENT_LIMIT = 65536;

export function commentMarker(stack: string): string {
  return `<!-- auditflow-policy-report:${stack} -->`;
}

/** The comment body: the report, or a summary when the report would exceed the limit. */
export function commentBody(stack: string, markdown: string, report: PackReport): string {
  const marker = commentMarker(stack);
  const whole = `${marker}\n${markdown}\n`;
  if (whole.length <= COMMENT_LIMIT) return whole;
  const s = report.summary;
  return [
    marker,
    `### Policy check — stack \`${stack}\`: ${s.mandatory ? `❌ ${s.mandatory} mandatory` : "✅ no mandatory"} violation(s)`,
    "",
    `${s.policies} policies over ${s.resources} resources · ${s.advisory} advisory · ${s.exemptions} exemption(s)`,
    "",
    `The full report (${markdown.length} characters) is longer than a comment may be: download the \`policy-report-${stack}\` artifact of this run (report.md, report.sarif, report.json).`,
    "",
  ].join("\n");
}

function main(): number {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: {
      stack: { type: "string" },
      out: { type: "string" },
      "config-file": { type: "string" },
    },
  });
  const stack = values.stack;
  const out = values.out;
  if (!stack || !out) {
    process.stderr.write("policy-report: --stack and --out are required\n");
    return 2;
  }
  fs.mkdirSync(out, { recursive: true });
  const plan = planJson(
    stack,
    path.join(out, "manifests"),
    values["config-file"] ? ["--config-file", values["config-file"]] : [],
  );
  process.stderr.write(plan.stderr);
  if (plan.status === 2 || plan.status === null || !plan.stdout) {
    process.stderr.write(`policy-report: the plan of stack ${stack} failed\n`);
    return 2;
  }
  const report = (JSON.parse(plan.stdout) as { policy?: PackReport }).policy;
  if (!report) {
    process.stderr.write("policy-report: the plan ran without the policy pack\n");
    return 2;
  }
  const stackFile = values["config-file"] ?? `Pulumi.${stack}.yaml`;
  const markdown = formatReport(report, "markdown", {
    fullReport: `the \`policy-report-${stack}\` artifact of this run (report.json, report.sarif)`,
  });
  fs.writeFileSync(path.join(out, "report.md"), `${markdown}\n`);
  fs.writeFileSync(path.join(out, "comment.md"), commentBody(stack, markdown, report));
  fs.writeFileSync(
    path.join(out, "report.sarif"),
    formatReport(report, "sarif", { artifact: () => stackFile }),
  );
  fs.writeFileSync(path.join(out, "report.json"), formatReport(report, "json"));
  process.stdout.write(
    `policy-report: stack ${stack}: ${report.summary.mandatory} mandatory, ${report.summary.advisory} advisory; wrote ${out}/comment.md, report.md, report.sarif, report.json\n`,
  );
  return plan.status ?? 2;
}

if (require.main === module) process.exitCode = main();
