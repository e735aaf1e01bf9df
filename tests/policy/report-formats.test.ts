/**
 * Reports on manifests this project did not write: a multi-service demo application and the output
 * of `helm template` for a typical chart (samples written for these tests in the shapes such
 * manifests have). Findings are grouped, the fix lines are generic, and the Markdown comment fits
 * GitHub's limit however many findings there are.
 */
import * as path from "path";
import { runPack } from "../../policy/engine/evaluate";
import { COMMENT_LIMIT, formatReport } from "../../policy/engine/format";
import { readManifests } from "../../policy/engine/manifests";

const samples = path.join(__dirname, "samples");
const notOurs = { ours: () => false };
const RANK = ["critical", "high", "medium", "low"];

async function reportOn(files: string[], stack = "prod") {
  return runPack(readManifests(files.map((f) => path.join(samples, f))), { stack });
}

describe.each(["microservices-demo.yaml", "helm-template.yaml"])("%s", (file) => {
  test("the text report has one group per policy, most severe first then largest first, each fix and reason said once", async () => {
    const report = await reportOn([file]);
    expect(report.violations.length).toBeGreaterThan(5);
    const out = formatReport(report, "text", notOurs);
    const headers = [
      ...out.matchAll(/^ {2}\[(mandatory|advisory)\] (\S+) \((\w+)\): (\d+) findings?$/gm),
    ];
    const policies = headers.map((h) => h[2]);
    expect(new Set(policies).size).toBe(policies.length);
    const mandatory = headers
      .filter((h) => h[1] === "mandatory")
      .map((h) => ({ rank: RANK.indexOf(h[3]!), count: Number(h[4]) }));
    expect(mandatory).toEqual([...mandatory].sort((a, b) => a.rank - b.rank || b.count - a.count));
    expect(new Set(mandatory.map((m) => m.rank)).size).toBeGreaterThan(1);
    expect(mandatory.reduce((a, m) => a + m.count, 0)).toBe(report.summary.mandatory);
    expect(out.match(/^ {4}Fix: /gm)!.length).toBe(headers.length);
    expect(out.match(/^ {4}Why: .+ See https:\/\/\S+$/gm)!.length).toBe(headers.length);
  });

  test("fix lines give no advice to use this project's helpers or annotations", async () => {
    const out = formatReport(await reportOn([file]), "text", notOurs);
    expect(out).not.toMatch(/Workload helper|auditflow\.dev\/|platform namespace|pack config/);
  });
});

test("the demo's repeated findings become one row each in Markdown, objects listed compactly", async () => {
  const report = await reportOn(["microservices-demo.yaml"]);
  const md = formatReport(report, "markdown", notOurs);
  // Every one of the eleven Deployments runs without a read-only root filesystem: one row.
  const rows = md.split("\n").filter((l) => l.includes(" | [`read-only-root-filesystem`]("));
  expect(rows).toHaveLength(1);
  expect(rows[0]).toMatch(
    /^\| medium \| \[`read-only-root-filesystem`\]\(https:\/\/\S+\) \| 11 \| Deployment frontend, Deployment cartservice, .* and 6 more \|/,
  );
});

test("the Markdown comment stays under GitHub's limit however many findings, and says what it left out", async () => {
  // The demo application deployed 150 times over: thousands of findings.
  const one = readManifests([path.join(samples, "microservices-demo.yaml")]);
  const many = Array.from({ length: 150 }, (_, i) =>
    one.map((r) => ({
      ...r,
      urn: `${r.urn}-${i}`,
      props: { ...r.props, metadata: { ...(r.props.metadata as object), namespace: `team-${i}` } },
    })),
  ).flat();
  const report = await runPack(many, { stack: "prod" });
  expect(report.violations.length).toBeGreaterThan(3000);
  const md = formatReport(report, "markdown", { ...notOurs, fullReport: "the CI job's log" });
  expect(md.length).toBeLessThan(COMMENT_LIMIT);
  expect(md).toMatch(
    /_\d+ more row\(s\) not shown: a comment is limited to 65,536 characters\. The full report: the CI job's log\._$/,
  );
  // The grouped tables come first and are complete; only the per-finding list is cut.
  expect(md).toMatch(/\| \[`read-only-root-filesystem`\]\(https:\/\/\S+\) \| 1650 \|/);
});
