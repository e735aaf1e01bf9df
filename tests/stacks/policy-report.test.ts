/**
 * The pull request's policy report from a real offline plan: prod with a service below its minimum
 * replicas yields a Markdown comment (marker first, mandatory listed, within GitHub's limit) and a
 * SARIF file that validates against the SARIF 2.1.0 schema (from the npm package that ships it).
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import Ajv from "ajv-draft-04";
import addFormats from "ajv-formats";
import { parse, stringify } from "yaml";
import { COMMENT_LIMIT, commentBody, commentMarker } from "../../scripts/ci/policy-report";
import type { PackReport } from "../../policy/engine/evaluate";

const root = path.resolve(__dirname, "../..");
const out = fs.mkdtempSync(path.join(os.tmpdir(), "policy-report-"));
let status: number | null;

beforeAll(() => {
  const doc = parse(fs.readFileSync(path.join(root, "Pulumi.prod.yaml"), "utf8")) as any;
  doc.config["auditflow-platform:services"][0].replicas = 1;
  const file = path.join(out, "Pulumi.prod.yaml");
  fs.writeFileSync(file, stringify(doc));
  const run = spawnSync(
    "npx",
    ["tsx", "scripts/ci/policy-report.ts", "--stack", "prod", "--out", out, "--config-file", file],
    { cwd: root, encoding: "utf8", timeout: 300_000 },
  );
  status = run.status;
}, 300_000);

test("a mandatory violation makes the report exit 1", () => {
  expect(status).toBe(1);
});

test("the comment carries the stack's marker, lists the mandatory violation and fits GitHub's limit", () => {
  const comment = fs.readFileSync(path.join(out, "comment.md"), "utf8");
  expect(comment.startsWith(commentMarker("prod"))).toBe(true);
  expect(comment.length).toBeLessThanOrEqual(COMMENT_LIMIT);
  expect(comment).toMatch(/#### Mandatory \(blocks the update\)/);
  expect(comment).toMatch(
    /\| high \| \[`ha-replicas`\]\(https:\/\/kubernetes\.io\/\S+\) \| \d+ \| .*audit-event-generator/,
  );
});

test("the SARIF file validates against the SARIF 2.1.0 schema and reports the violation as an error", () => {
  const schema = JSON.parse(
    fs.readFileSync(
      require.resolve("@microsoft/jest-sarif/lib/schemas/sarif-2.1.0-rtm.5.json"),
      "utf8",
    ),
  );
  // The schema's patterns are not valid under the unicode flag; its uri and date-time formats are checked.
  const ajv = new Ajv({ allErrors: true, strict: false, unicodeRegExp: false });
  addFormats(ajv);
  const validate = ajv.compile(schema);
  const sarif = JSON.parse(fs.readFileSync(path.join(out, "report.sarif"), "utf8"));
  expect(validate(sarif) ? [] : validate.errors).toEqual([]);
  const results = sarif.runs[0].results as { ruleId: string; level: string }[];
  expect(results).toContainEqual(
    expect.objectContaining({ ruleId: "ha-replicas", level: "error" }),
  );
});

test("a report longer than a comment may be becomes a summary pointing to the artifact", () => {
  const report = {
    summary: { mandatory: 3, advisory: 0, exemptions: 0, policies: 53, resources: 129 },
  } as unknown as PackReport;
  const body = commentBody("prod", "x".repeat(COMMENT_LIMIT), report);
  expect(body.length).toBeLessThanOrEqual(COMMENT_LIMIT);
  expect(body).toContain(commentMarker("prod"));
  expect(body).toMatch(/❌ 3 mandatory/);
  expect(body).toMatch(/download the `policy-report-prod` artifact/);
});
