/** `npm run policy:check` on plain manifests, as a user runs it, in a child process. */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

const root = path.resolve(__dirname, "../..");
const tsx = path.join(root, "node_modules/.bin/tsx");
const run = (script: string, args: string[]) => {
  const r = spawnSync(tsx, [script, ...args], { cwd: root, encoding: "utf8", timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
};
/** What `npm run policy:check` runs: the compiled script, rebuilt first when stale. */
const check = (args: string[]) => {
  const r = spawnSync(process.execPath, ["scripts/run-built.js", "policy-check", ...args], {
    cwd: root,
    encoding: "utf8",
    timeout: 120_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
};

const BAD = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: default
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
        - name: web
          image: nginx:latest
`;

let tmp: string;
let planned: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "policy-check-"));
  planned = path.join(tmp, "prod");
  const plan = run("scripts/plan.ts", ["--stack", "prod", "--out", planned, "--no-policy"]);
  expect(plan.code).toBe(0);
  fs.writeFileSync(path.join(tmp, "bad.yaml"), BAD);
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

test("the prod plan's manifests pass prod's pack, resource and stack policies alike (exit 0)", () => {
  const r = check(["--stack", "prod", planned]);
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
  // The only advisory entries are the listed exemptions: cert-manager's NetworkPolicies (3), the
  // node agents and single-replica Grafana and kube-state-metrics (4 objects, 7 exemptions).
  expect(r.stdout).toMatch(
    /Policy summary: 0 mandatory, 7 advisory violation\(s\), 10 exemption\(s\)/,
  );
  const advisory = [...r.stdout.matchAll(/^ {2}\[advisory\] (\S+) \((\w+)\):/gm)];
  expect(advisory.map((m) => `${m[1]} (${m[2]})`)).toEqual(["exemptions-listed (low)"]);
});

test("a non-compliant manifest exits 1 and names each policy, the object, the container and the fix", () => {
  const r = check(["--stack", "prod", path.join(tmp, "bad.yaml")]);
  expect(r.code).toBe(1);
  expect(r.stdout).toMatch(
    /\[mandatory\] image-tag-pinned \(high\): 1 finding\n {4}Deployment default\/web: container "web" image nginx:latest uses the mutable tag latest\n {4}Fix: pin/,
  );
  expect(r.stdout).toMatch(
    /\[mandatory\] no-default-namespace \(medium\): 1 finding\n {4}Deployment default\/web: the object is in the default namespace\n {4}Fix: set metadata\.namespace to a namespace of the application's own/,
  );
  expect(r.stdout).toMatch(/\[mandatory\] pod-selected-by-network-policy \(high\): 1 finding/);
});

test("the same manifest under dev is advisory only (exit 0)", () => {
  const r = check(["--stack", "dev", path.join(tmp, "bad.yaml")]);
  expect(r.code).toBe(0);
  expect(r.stdout).toMatch(/\[advisory\] image-tag-pinned/);
  expect(r.stdout).not.toMatch(/\[mandatory\]/);
});

test.each([
  ["json", (out: string) => JSON.parse(out).summary.mandatory > 0],
  [
    "sarif",
    (out: string) =>
      JSON.parse(out).runs[0].results.some((x: any) =>
        x.locations[0].physicalLocation.artifactLocation.uri.endsWith("bad.yaml"),
      ),
  ],
  ["markdown", (out: string) => /^### Policy check — stack `prod`: ❌ \d+ mandatory/.test(out)],
])("--format %s", (format, ok) => {
  const r = check(["--stack", "prod", "--format", format, path.join(tmp, "bad.yaml")]);
  expect(r.code).toBe(1);
  expect(ok(r.stdout)).toBe(true);
});

test("unreadable input exits 2 naming the file and the document", () => {
  const broken = path.join(tmp, "broken.yaml");
  fs.writeFileSync(broken, `${BAD}---\nkind: [unclosed\n`);
  const r1 = check([broken]);
  expect(r1.code).toBe(2);
  expect(r1.stderr).toMatch(/broken.yaml: document 2 is not valid YAML/);
  const nokind = path.join(tmp, "nokind.yaml");
  fs.writeFileSync(nokind, "apiVersion: v1\nmetadata: {name: x}\n");
  const r2 = check([nokind]);
  expect(r2.code).toBe(2);
  expect(r2.stderr).toMatch(/nokind.yaml: document 1 has no apiVersion or kind/);
  expect(check([path.join(tmp, "missing.yaml")]).stderr).toMatch(
    /missing.yaml: no such file or directory/,
  );
  expect(check(["--format", "xml", broken]).stderr).toMatch(
    /--format must be one of text, json, sarif, markdown/,
  );
});

describe("severity and rationale in every format, on four policies of three severities", () => {
  // Three mandatory policies of high, medium and low severity (the low one with the most
  // findings, so only the severity can put it last) and one advisory policy.
  const only = () => {
    const file = path.join(tmp, "four-policies.json");
    fs.writeFileSync(
      file,
      JSON.stringify({
        all: "disabled",
        "image-tag-pinned": "mandatory",
        "no-default-namespace": "mandatory",
        "recommended-labels": "mandatory",
        "liveness-probe": "advisory",
      }),
    );
    return file;
  };
  const checkAs = (format: string) =>
    check([
      "--stack",
      "prod",
      "--policy-config",
      only(),
      "--format",
      format,
      path.join(tmp, "bad.yaml"),
    ]);
  const TAG_LINK = "https://kubernetes.io/docs/concepts/containers/images/#image-names";
  const NS_LINK = "https://kubernetes.io/docs/concepts/overview/working-with-objects/namespaces/";
  const LABELS_LINK =
    "https://kubernetes.io/docs/concepts/overview/working-with-objects/common-labels/";
  const PROBE_LINK =
    "https://kubernetes.io/docs/tasks/configure-pod-container/configure-liveness-readiness-startup-probes/";

  test("text: each group names its severity and ends with why and where to read more, most severe first", () => {
    const r = checkAs("text");
    expect(r.code).toBe(1);
    expect(r.stdout).toBe(
      [
        "Policy pack auditflow-kubernetes (stack prod): 4 policies over 1 resources",
        "",
        "  [mandatory] image-tag-pinned (high): 1 finding",
        '    Deployment default/web: container "web" image nginx:latest uses the mutable tag latest',
        "    Fix: pin the image to an exact version (e.g. :1.4.2) or a digest (@sha256:...)",
        `    Why: A moving tag means the code that runs can change without any change to the stack. See ${TAG_LINK}`,
        "",
        "  [mandatory] no-default-namespace (medium): 1 finding",
        "    Deployment default/web: the object is in the default namespace",
        "    Fix: set metadata.namespace to a namespace of the application's own",
        `    Why: Objects in default escape the quotas, policies and Pod Security labels of the platform's namespaces. See ${NS_LINK}`,
        "",
        "  [mandatory] recommended-labels (low): 2 findings",
        "    Deployment default/web: labels app.kubernetes.io/name, app.kubernetes.io/part-of, app.kubernetes.io/managed-by are missing",
        "    Deployment default/web: the pod template lacks app.kubernetes.io/name, app.kubernetes.io/part-of, app.kubernetes.io/managed-by",
        "    Fix: add the app.kubernetes.io/name, part-of and managed-by labels to the object and its pod template",
        `    Why: The recommended labels let tools and people find what an object belongs to. See ${LABELS_LINK}`,
        "",
        "  [advisory] liveness-probe (medium): 1 finding",
        '    Deployment default/web: container "web" has no liveness probe',
        "    Fix: add a livenessProbe (httpGet on a health endpoint, or exec/tcpSocket) to the container",
        `    Why: Without a liveness probe a hung process keeps its pod until someone notices. See ${PROBE_LINK}`,
        "",
        "Policy summary: 4 mandatory, 1 advisory violation(s), 0 exemption(s), 4 group(s) of findings — mandatory violations block this stack",
        "",
      ].join("\n"),
    );
  });

  test("json: every violation carries its severity, rationale and link, and the message leads with the severity", () => {
    const r = checkAs("json");
    expect(r.code).toBe(1);
    const violations = JSON.parse(r.stdout).violations as Record<string, unknown>[];
    expect(violations.map((v) => [v.policy, v.enforcement, v.severity, v.link])).toEqual([
      ["liveness-probe", "advisory", "medium", PROBE_LINK],
      ["image-tag-pinned", "mandatory", "high", TAG_LINK],
      ["no-default-namespace", "mandatory", "medium", NS_LINK],
      ["recommended-labels", "mandatory", "low", LABELS_LINK],
      ["recommended-labels", "mandatory", "low", LABELS_LINK],
    ]);
    expect(violations[1]).toEqual({
      policy: "image-tag-pinned",
      theme: "images",
      enforcement: "mandatory",
      severity: "high",
      resource: {
        type: "kubernetes:apps/v1:Deployment",
        name: "web",
        namespace: "default",
        urn: "urn:pulumi:manifests::files::kubernetes:apps/v1:Deployment::default/web",
      },
      message: `[high] container "web" image nginx:latest uses the mutable tag latest. Fix: pin the image to an exact version (e.g. :1.4.2) or a digest (@sha256:...). See ${TAG_LINK}`,
      description:
        "Every image is pinned: an exact tag or a digest; no missing tag and never `latest`.",
      rationale:
        "A moving tag means the code that runs can change without any change to the stack.",
      link: TAG_LINK,
    });
  });

  test("markdown: a severity column, the policy linked to its rationale, most severe first", () => {
    const r = checkAs("markdown");
    expect(r.code).toBe(1);
    const rows = r.stdout.split("\n").filter((l) => l.startsWith("| "));
    expect(rows.map((l) => l.split(" | ").slice(0, 3).join(" | "))).toEqual([
      "| Severity | Policy | Count",
      "| --- | --- | ---",
      `| high | [\`image-tag-pinned\`](${TAG_LINK}) | 1`,
      `| medium | [\`no-default-namespace\`](${NS_LINK}) | 1`,
      `| low | [\`recommended-labels\`](${LABELS_LINK}) | 2`,
      "| Severity | Policy | Count",
      "| --- | --- | ---",
      `| medium | [\`liveness-probe\`](${PROBE_LINK}) | 1`,
    ]);
  });

  test("sarif: each rule carries its severity, rationale and link", () => {
    const r = checkAs("sarif");
    expect(r.code).toBe(1);
    const rules = JSON.parse(r.stdout).runs[0].tool.driver.rules as Record<string, unknown>[];
    expect(rules.find((x) => x.id === "image-tag-pinned")).toEqual({
      id: "image-tag-pinned",
      name: "image-tag-pinned",
      shortDescription: {
        text: "Every image is pinned: an exact tag or a digest; no missing tag and never `latest`.",
      },
      fullDescription: {
        text: "A moving tag means the code that runs can change without any change to the stack.",
      },
      helpUri: TAG_LINK,
      help: { text: "pin the image to an exact version (e.g. :1.4.2) or a digest (@sha256:...)" },
      properties: { theme: "images", severity: "high" },
    });
  });
});
