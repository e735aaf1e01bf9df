/** `npm run plan` end to end: the CLI as a user runs it, in a child process. */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parseAllDocuments } from "yaml";
import { registry } from "../../policy/policies";

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
  // prod's only violations are the advisory list of exemptions, each with its severity and link.
  const exemptionsLink = registry.get("exemptions-listed")!.link;
  expect(
    new Set(
      doc.policy.violations.map((v: any) =>
        [v.policy, v.enforcement, v.severity, v.link, v.message.split(" ")[0]].join(" "),
      ),
    ),
  ).toEqual(new Set([`exemptions-listed advisory low ${exemptionsLink} [low]`]));
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

test("mandatory policy violations make the plan exit 1; its report names each group's severity, fix and why, most severe first", () => {
  const pack = path.join(tmp, "strict-registries.json");
  fs.writeFileSync(
    pack,
    JSON.stringify({
      all: "disabled",
      "allowed-registries": { enforcementLevel: "mandatory", registries: ["registry.internal"] },
      "ha-replicas": "mandatory",
      "ephemeral-storage-limits": "advisory",
    }),
  );
  const r = plan(["--stack", "dev", "--out", path.join(tmp, "strict"), "--policy-config", pack]);
  expect(r.code).toBe(1);
  const report = r.stdout.slice(r.stdout.indexOf("Policy pack auditflow-kubernetes"));
  // Group headers in order: mandatory before advisory, then high before low.
  expect(
    [...report.matchAll(/^ {2}\[.+$/gm)].map((m) => m[0].replace(/\d+ findings/, "N findings")),
  ).toEqual([
    "  [mandatory] allowed-registries (high): N findings",
    "  [mandatory] ha-replicas (high): N findings",
    "  [advisory] ephemeral-storage-limits (low): N findings",
  ]);
  // The ha-replicas group exactly (auto-named objects end in 8 hex digits, as the provider's do).
  const ha = report.split("\n\n").find((g) => g.startsWith("  [mandatory] ha-replicas"))!;
  expect(ha.replace(/-[0-9a-f]{8}:/g, "-<auto>:")).toBe(
    [
      "  [mandatory] ha-replicas (high): 6 findings",
      ...[
        "auditflow-data/pgbouncer",
        "auditflow-data/redis",
        "auditflow/audit-event-generator",
        "auditflow/notification-service",
        "auditflow/event-audit-dashboard",
        "auditflow/audit-log-analysis",
      ].map(
        (d) =>
          `    Deployment ${d}-<auto>: the Deployment runs 1 replica(s); the stack asks for at least 2`,
      ),
      "    Fix: raise replicas (or the HorizontalPodAutoscaler's minReplicas) to at least the stack's minimum (and keep a PodDisruptionBudget)",
      "    Why: A single replica in prod means every node drain or crash is an outage. See https://kubernetes.io/docs/concepts/workloads/pods/disruptions/",
    ].join("\n"),
  );
  expect(report).toMatch(
    /\n {4}Deployment \S+: container "app" image ghcr.io\/auditflow\/audit-event-generator:0.4.2 comes from ghcr.io, not one of registry.internal\n/,
  );
  expect(report).toContain(
    "\n    Fix: pull the image from an allowed registry (mirror it there), or add the registry to the pack config's allowed-registries list" +
      "\n    Why: Images from an unvetted registry are code nobody reviewed running in the cluster. See https://kubernetes.io/docs/concepts/containers/images/\n",
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
