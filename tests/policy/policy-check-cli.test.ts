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
  expect(
    r.stdout.match(/\[advisory\] (\S+):/g)?.every((m) => m.includes("exemptions-listed")),
  ).toBe(true);
});

test("a non-compliant manifest exits 1 and names each policy, the object, the container and the fix", () => {
  const r = check(["--stack", "prod", path.join(tmp, "bad.yaml")]);
  expect(r.code).toBe(1);
  expect(r.stdout).toMatch(
    /\[mandatory\] image-tag-pinned: 1 finding\n {4}Deployment default\/web: container "web" image nginx:latest uses the mutable tag latest\n {4}Fix: pin/,
  );
  expect(r.stdout).toMatch(
    /\[mandatory\] no-default-namespace: 1 finding\n {4}Deployment default\/web: the object is in the default namespace\n {4}Fix: set metadata\.namespace to a namespace of the application's own/,
  );
  expect(r.stdout).toMatch(/\[mandatory\] pod-selected-by-network-policy: 1 finding/);
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
