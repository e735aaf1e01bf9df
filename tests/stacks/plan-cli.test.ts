/** `npm run plan` end to end: the CLI as a user runs it, in a child process. */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parseAllDocuments } from "yaml";

const root = path.resolve(__dirname, "../..");
const tsx = path.join(root, "node_modules/.bin/tsx");

function plan(args: string[], env: NodeJS.ProcessEnv = {}) {
  const r = spawnSync(tsx, ["scripts/plan.ts", ...args], {
    cwd: root,
    encoding: "utf8",
    env: { ...process.env, ...env },
    timeout: 120_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function yamlFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? yamlFiles(p) : p.endsWith(".yaml") ? [p] : [];
  });
}

let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "plan-cli-"));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe.each(["dev", "staging", "prod"])("plan --stack %s", (stack) => {
  test("exits 0, prints the tree and writes parseable manifests", () => {
    const out = path.join(tmp, stack);
    const r = plan(["--stack", stack, "--out", out], {
      AUDITFLOW_SECRET_SSH_PRIVATE_KEY: "SSH-KEY-MUST-NOT-LEAK",
    });
    expect(r.stderr).not.toMatch(/error/i);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`Plan of stack ${stack}`);
    expect(r.stdout).toMatch(/[├└]─ auditflow:apps:AuditFlowService\s+audit-log-analysis/);
    expect(r.stdout).toMatch(/Resources: \d+ to create/);
    expect(r.stdout).toContain("secret sshPrivateKey: taken from AUDITFLOW_SECRET_SSH_PRIVATE_KEY");
    expect(r.stdout + r.stderr).not.toContain("SSH-KEY-MUST-NOT-LEAK");
    const files = yamlFiles(out);
    expect(files.length).toBeGreaterThan(20);
    const kinds = new Set<string>();
    for (const f of files) {
      const docs = parseAllDocuments(fs.readFileSync(f, "utf8"));
      expect([f, docs.length, docs[0]!.errors]).toEqual([f, 1, []]);
      const obj = docs[0]!.toJS() as {
        apiVersion: string;
        kind: string;
        metadata: { name: string };
      };
      expect(obj.apiVersion).toMatch(
        /^(v1|[a-z0-9.-]+\/v1|autoscaling\/v2|traefik\.io\/v1alpha1)$/,
      );
      expect(obj.metadata.name).toMatch(/^[a-z0-9-]+$/);
      kinds.add(obj.kind);
    }
    expect([...kinds]).toEqual(
      expect.arrayContaining(["Namespace", "Deployment", "Service", "NetworkPolicy"]),
    );
  });
});

test("--format json prints every resource without secret values", () => {
  const r = plan(["--stack", "prod", "--out", path.join(tmp, "json"), "--format", "json"], {
    AUDITFLOW_SECRET_SSH_PRIVATE_KEY: "SSH-KEY-MUST-NOT-LEAK",
  });
  expect(r.code).toBe(0);
  const doc = JSON.parse(r.stdout);
  expect(doc.stack).toBe("prod");
  expect(doc.summary.resources).toBe(doc.resources.length);
  expect(doc.resources.find((x: any) => x.type === "kubernetes:apps/v1:Deployment")).toBeDefined();
  const install = doc.resources.find((x: any) => x.name === "k3s-prod-server-1-install");
  expect(install.inputs.connection).toBe("[secret]");
  expect(install.inputs.stdin).toBe("[secret]");
  expect(doc.outputs.kubeconfig).toBe("[secret]");
  expect(doc.outputs.cluster.provisioning).toBe("ssh");
  expect(r.stdout).not.toContain("SSH-KEY-MUST-NOT-LEAK");
});

test("a bad config file exits 2 and names every bad key", () => {
  const file = path.join(tmp, "bad.yaml");
  const good = fs.readFileSync(path.join(root, "Pulumi.dev.yaml"), "utf8");
  fs.writeFileSync(
    file,
    good
      .replace("auditflow-platform:environment: dev", "auditflow-platform:environment: qa")
      .replace("arch: arm64", "arch: sparc")
      .replace("replicas: 1", "replicas: 0"),
  );
  const r = plan(["--stack", "dev", "--config-file", file, "--out", path.join(tmp, "bad")]);
  expect(r.code).toBe(2);
  expect(r.stderr).toContain("auditflow-platform:environment: must be one of");
  expect(r.stderr).toContain("auditflow-platform:cluster.nodes[0].arch: must be one of");
  expect(r.stderr).toContain(
    "auditflow-platform:data.pgbouncer.replicas: must be at least 1 (got 0)",
  );
  // A user error, not a crash: no stack trace.
  expect(r.stderr).not.toMatch(/\n\s+at /);
  expect(fs.existsSync(path.join(tmp, "bad"))).toBe(false);
});

test("unreadable input and bad flags exit 2 with a clear message", () => {
  const missing = plan(["--stack", "dev", "--config-file", path.join(tmp, "nope.yaml")]);
  expect(missing.code).toBe(2);
  expect(missing.stderr).toMatch(/cannot read config file .*nope.yaml/);
  const notYaml = path.join(tmp, "broken.yaml");
  fs.writeFileSync(notYaml, "config: [unclosed");
  const broken = plan(["--stack", "dev", "--config-file", notYaml]);
  expect(broken.code).toBe(2);
  expect(broken.stderr).toMatch(/is not valid YAML/);
  const format = plan(["--stack", "dev", "--format", "xml"]);
  expect(format.code).toBe(2);
  expect(format.stderr).toContain('--format must be text or json (got "xml")');
  expect(plan([]).stderr).toContain("--stack is required");
});

test("mandatory policy violations make the plan exit 1", () => {
  const pack = path.join(tmp, "strict-registries.json");
  fs.writeFileSync(
    pack,
    JSON.stringify({
      all: "advisory",
      "allowed-registries": { enforcementLevel: "mandatory", registries: ["registry.internal"] },
    }),
  );
  const r = plan(["--stack", "dev", "--out", path.join(tmp, "strict"), "--policy-config", pack]);
  expect(r.code).toBe(1);
  expect(r.stdout).toMatch(/\[mandatory\] allowed-registries: \d+ findings\n/);
  expect(r.stdout).toMatch(
    /\n {4}Deployment \S+: container "app" image ghcr.io\/auditflow\/audit-event-generator:0.4.2 comes from ghcr.io, not one of registry.internal\n/,
  );
  expect(r.stderr).toMatch(/mandatory policy violation\(s\); stack dev must not be applied/);
});

test("the plan reports the stack's policy summary", () => {
  const r = plan(["--stack", "prod", "--out", path.join(tmp, "summary")]);
  expect(r.code).toBe(0);
  expect(r.stdout).toMatch(
    /Policy pack auditflow-kubernetes \(stack prod\): 56 policies over \d+ resources/,
  );
  expect(r.stdout).toMatch(
    // The advisory entries are exemptions-listed notices: cert-manager's NetworkPolicies (3), the
    // node agents and single-replica Grafana and kube-state-metrics (4 objects, 7 exemptions).
    /Policy summary: 0 mandatory, 7 advisory violation\(s\), 10 exemption\(s\)/,
  );
});
