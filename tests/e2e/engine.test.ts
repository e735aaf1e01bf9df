/**
 * The real Pulumi engine against the cluster twin (run by scripts/e2e.sh, which checks that the
 * Pulumi CLI exists and AUDITFLOW_TWIN_KUBECONFIG names the twin's kubeconfig): prod's program,
 * in kubeconfig provisioning mode, previewed and applied with the policy pack and prod's pack
 * config; a mandatory violation makes `pulumi up` refuse to apply anything.
 */
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parse, stringify } from "yaml";

const root = path.resolve(__dirname, "../..");
const kubeconfig = process.env.AUDITFLOW_TWIN_KUBECONFIG ?? "";
const work = fs.mkdtempSync(path.join(os.tmpdir(), "auditflow-e2e-"));
const env = {
  ...process.env,
  KUBECONFIG: kubeconfig,
  PULUMI_BACKEND_URL: `file://${work}`,
  PULUMI_CONFIG_PASSPHRASE: "e2e-only-passphrase",
  PULUMI_SKIP_UPDATE_CHECK: "true",
};
const PACK = ["--policy-pack", "policy", "--policy-pack-config", "policy/config/prod.json"];

function pulumi(args: string[], input?: string) {
  return spawnSync("pulumi", args, { cwd: root, env, input, encoding: "utf8", timeout: 900_000 });
}

/** Prod's stack config pointed at the twin: kubeconfig mode, nothing built, secrets set. */
function stackConfig(stack: string, mutate: (c: Record<string, any>) => void = () => {}): string {
  const doc = parse(fs.readFileSync(path.join(root, "Pulumi.prod.yaml"), "utf8")) as {
    config: Record<string, any>;
  };
  const c = doc.config;
  const cluster = c["auditflow-platform:cluster"];
  c["auditflow-platform:cluster"] = { ...cluster, provisioning: "kubeconfig" };
  delete c["auditflow-platform:cluster"].sshUser;
  delete c["auditflow-platform:cluster"].apiAddress;
  delete c["auditflow-platform:images"];
  mutate(c);
  const file = path.join(work, `Pulumi.${stack}.yaml`);
  fs.writeFileSync(file, stringify(doc));
  expect(pulumi(["stack", "init", stack, "--secrets-provider", "passphrase"]).status).toBe(0);
  const secrets: Record<string, string> = {
    backupVerifyIdentity: `AGE-SECRET-KEY-1${"Q".repeat(58)}`,
    backupOffsiteSecretKey: "e2e-offsite-secret",
  };
  for (const [k, v] of Object.entries(secrets))
    expect(
      pulumi(["config", "set", "--secret", "--stack", stack, "--config-file", file, k], v).status,
    ).toBe(0);
  return file;
}

beforeAll(() => {
  expect(fs.existsSync(kubeconfig)).toBe(true);
  execFileSync("pulumi", ["login", `file://${work}`], { env });
});

test("pulumi preview of prod with the policy pack passes against the twin", () => {
  const file = stackConfig("e2e-preview");
  const r = pulumi(["preview", "--stack", "e2e-preview", "--config-file", file, ...PACK]);
  expect(r.stderr + r.stdout).toMatch(/auditflow-kubernetes/);
  expect(r.status).toBe(0);
});

test("a mandatory violation makes pulumi up of prod refuse to apply anything", () => {
  const file = stackConfig("e2e-refused", (c) => {
    c["auditflow-platform:services"][0].replicas = 1; // ha-replicas: prod needs at least 2
  });
  const r = pulumi(["up", "--yes", "--stack", "e2e-refused", "--config-file", file, ...PACK]);
  expect(r.status).not.toBe(0);
  expect(r.stdout + r.stderr).toMatch(/mandatory.*ha-replicas|ha-replicas.*mandatory/s);
  const state = JSON.parse(pulumi(["stack", "export", "--stack", "e2e-refused"]).stdout) as {
    deployment: { resources?: { type: string }[] };
  };
  const created = (state.deployment.resources ?? []).filter((x) =>
    x.type.startsWith("kubernetes:apps"),
  );
  expect(created).toEqual([]);
});

test("pulumi up of compliant prod applies to the twin", () => {
  const file = stackConfig("e2e-up");
  const r = pulumi(["up", "--yes", "--stack", "e2e-up", "--config-file", file, ...PACK]);
  expect(r.status).toBe(0);
  const out = JSON.parse(pulumi(["stack", "output", "--json", "--stack", "e2e-up"]).stdout) as {
    namespaces: { apps: string };
  };
  expect(out.namespaces.apps).toBe("auditflow");
});
