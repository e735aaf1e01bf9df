/**
 * The pack under Pulumi's real policy runtime (@pulumi/pulumi's run-policy-pack and @pulumi/policy's
 * analyzer server), started as the language host starts it and driven over gRPC as the engine
 * drives it. Every stack's plan and the policy fixtures must yield exactly what the offline
 * evaluator reports: the same violations (level, resource, message as the engine shows it), the
 * same notices and the same remediations, with no secret leaving a remediation in plain text.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { policies } from "../../policy/policies";
import { loadPackConfig, stackConfigFile, PlannedResource } from "../../policy/engine/evaluate";
import { plannedResources } from "../../scripts/plan";
import { planStack } from "../helpers/program";
import { goodStack, mutated, pod } from "../policy/fixtures";
import { PACK_DIR, PolicyRuntime, SECRET_SIG, SIG_KEY } from "./engine";
import { offline, plainValues, throughRuntime } from "./compare";
import { readsInternal } from "./divergent-policy";

let rt: PolicyRuntime;
beforeAll(async () => {
  rt = await PolicyRuntime.start({ stack: "dev" });
}, 180_000);
afterAll(async () => {
  await rt?.stop();
});

test("GetAnalyzerInfo describes the pack and every policy with its level, severity, link and config schema", async () => {
  const info = await rt.info();
  const pkg = JSON.parse(fs.readFileSync(path.join(PACK_DIR, "package.json"), "utf8"));
  expect(info.name).toBe("auditflow-kubernetes");
  expect(info.version).toBe(pkg.version);
  expect(info.policies.map((p) => p.name).sort()).toEqual(policies.map((p) => p.name).sort());
  for (const p of policies) {
    const wire = info.policies.find((w) => w.name === p.name)!;
    expect(wire.description).toBe(p.description);
    expect(wire.enforcementLevel).toBe("advisory"); // the pack's level: no policy sets its own
    expect([wire.severity, wire.url]).toEqual([p.severity, p.url]);
    expect(wire.url).toMatch(/^https:\/\//);
    expect(wire.type).toBe("validateStack" in p ? "stack" : "resource");
    expect(wire.configSchema?.properties).toEqual(
      JSON.parse(JSON.stringify(p.configSchema?.properties)),
    );
  }
});

test("a bad pack config is refused with the policy and the key, before Configure", async () => {
  await expect(
    rt.configure({
      "stack-capacity-fits": { nodes: [{ name: "pi", arch: "arm64", cpu: "four" }] },
    }),
  ).rejects.toThrow(/stack-capacity-fits: nodes\[0\]\.cpu must be number/);
});

describe.each(["dev", "staging", "prod"])("stack %s", (stack) => {
  test.each([false, true])(
    "preview=%s: the real runtime reports exactly what the offline evaluator reports",
    async (preview) => {
      const recorded = (await planStack(stack, { preview })).resources;
      const resources = plannedResources(recorded);
      const secretPaths = new Map(recorded.map((r) => [r.urn, r.secretPaths]));
      const config = loadPackConfig(stackConfigFile(stack));
      const real = await throughRuntime(rt, resources, config, secretPaths);
      const ours = await offline(resources, { config });
      expect({ ...real, remediated: undefined }).toEqual({ ...ours, remediated: undefined });
      // Nothing to report on a compliant program but its listed exemptions; the first preview
      // cannot judge stack policies.
      expect(real.violations.filter((v) => !v.startsWith("exemptions-listed|"))).toEqual([]);
      if (preview) expect(real.notices.length).toBeGreaterThan(0);
    },
    240_000,
  );
});

/** Objects that break many policies at once, including ones the dev stack remediates. */
function badStack(): PlannedResource[] {
  let stack = mutated("Deployment", (o) => {
    const p = pod(o);
    delete p.securityContext.seccompProfile;
    p.automountServiceAccountToken = true;
    p.hostNetwork = true;
    p.volumes.push({ name: "sock", hostPath: { path: "/var/run/containerd/containerd.sock" } });
    const c = p.containers[0];
    c.image = "docker.io/library/nginx:latest";
    c.securityContext = { privileged: true, capabilities: { add: ["NET_ADMIN"] } };
    delete c.livenessProbe;
    c.env.push({ name: "API_TOKEN", value: "hunter2" });
  });
  stack = stack.filter((r) => r.name !== "default-deny");
  const sa = stack.find((r) => r.type.endsWith(":ServiceAccount"))!;
  delete (sa.props as Record<string, unknown>).automountServiceAccountToken;
  return stack;
}

describe("the policy fixtures", () => {
  const configs = {
    "every policy mandatory": { all: "mandatory" },
    "dev's pack config (remediation)": loadPackConfig(stackConfigFile("dev")),
    "prod's pack config": loadPackConfig(stackConfigFile("prod")),
  } as const;
  test.each(Object.keys(configs))("%s: the runtime agrees with the evaluator", async (name) => {
    const config = configs[name as keyof typeof configs];
    for (const resources of [goodStack(), badStack()]) {
      const real = await throughRuntime(rt, resources, config);
      expect({ ...real, remediated: undefined }).toEqual({
        ...(await offline(resources, { config })),
        remediated: undefined,
      });
    }
    const bad = await throughRuntime(rt, badStack(), config);
    expect(bad.violations.length).toBeGreaterThan(5);
    // The runtime puts each policy's own severity on its diagnostics, and the message leads with it.
    for (const v of bad.violations) {
      const [policy, , severity, , ...rest] = v.split("|");
      const text = rest.join("|");
      const own = policies.find((p) => p.name === policy)!.severity;
      expect([policy, severity]).toEqual([policy, own]);
      expect(text).toContain(`[${own}] `);
    }
  });

  test("dev remediates inside the real runtime, and the remediated props satisfy the policies", async () => {
    const real = await throughRuntime(rt, badStack(), loadPackConfig(stackConfigFile("dev")));
    expect(real.remediations).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^seccomp-runtime-default\|.*:Deployment::api$/),
        expect.stringMatching(/^service-account-token-automount\|.*:Deployment::api$/),
        expect.stringMatching(/^service-account-token-automount\|.*:ServiceAccount::api-sa$/),
      ]),
    );
    const fixed = [...real.remediated.entries()].find(([urn]) =>
      urn.endsWith(":Deployment::api"),
    )![1];
    const spec = (fixed as any).spec.template.spec;
    expect(spec.securityContext.seccompProfile).toEqual({ type: "RuntimeDefault" });
    expect(spec.automountServiceAccountToken).toBe(false);
    expect(real.violations.filter((v) => v.startsWith("seccomp-runtime-default|"))).toEqual([]);
  });

  test("values unknown in preview make the runtime and the evaluator skip the same policies", async () => {
    const resources = mutated("Deployment", (o) => {
      pod(o).containers[0].image = "[unknown until apply]";
      pod(o).securityContext = "[unknown until apply]";
    });
    const config = loadPackConfig(stackConfigFile("dev"));
    const real = await throughRuntime(rt, resources, config);
    expect({ ...real, remediated: undefined }).toEqual({
      ...(await offline(resources, { config })),
      remediated: undefined,
    });
    expect(real.notices).toEqual(
      expect.arrayContaining([expect.stringMatching(/^image-tag-pinned\|.*Deployment::api$/)]),
    );
  });
});

test("a remediation keeps every secret of the resource secret on the wire", async () => {
  const resources = mutated("Deployment", (o) => {
    delete pod(o).securityContext.seccompProfile;
    pod(o).containers[0].env[0].value = "s3cret-value";
  });
  const deployment = resources.find((r) => r.type.endsWith(":Deployment"))!;
  const secretPath = "spec.template.spec.containers[0].env[0].value";
  const real = await throughRuntime(
    rt,
    [deployment],
    loadPackConfig(stackConfigFile("dev")),
    new Map([[deployment.urn, [secretPath]]]),
  );
  expect(real.remediations).toContain(`seccomp-runtime-default|${deployment.urn}`);
  const fixed = real.remediated.get(deployment.urn) as any;
  expect(fixed.spec.template.spec.containers[0].env[0].value).toEqual({
    [SIG_KEY]: SECRET_SIG,
    value: "s3cret-value",
  });
  expect(plainValues(fixed).filter((v) => v.value === "s3cret-value")).toEqual([]);
});

describe("packs that differ from what the engine sends fail the comparison", () => {
  let dir: string;
  let other: PolicyRuntime | undefined;
  beforeAll(() => {
    // A pack with one extra policy that reads an internal key ("__defaults"), which the engine
    // strips from the properties it sends, but the offline evaluator would see.
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "auditflow-divergent-pack-"));
    fs.symlinkSync(path.resolve(PACK_DIR, "..", "node_modules"), path.join(dir, "node_modules"));
    fs.writeFileSync(path.join(dir, "package.json"), JSON.stringify({ version: "0.0.1" }));
    fs.writeFileSync(
      path.join(dir, "index.ts"),
      [
        `import { PolicyPack } from "@pulumi/policy";`,
        `import { readsInternal } from ${JSON.stringify(path.join(__dirname, "divergent-policy"))};`,
        `new PolicyPack("divergent", { enforcementLevel: "mandatory", policies: [readsInternal] });`,
      ].join("\n"),
    );
  });
  afterAll(async () => {
    await other?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test("a policy reading a property the engine does not send is caught", async () => {
    other = await PolicyRuntime.start({ packDir: dir });
    const resources = goodStack().map((r) => ({
      ...r,
      props: { ...r.props, __defaults: ["metadata"] },
    }));
    const real = await throughRuntime(other, resources, { all: "mandatory" });
    const ours = await offline(resources, {
      config: { all: "mandatory" },
      policies: [readsInternal],
    });
    expect(real.violations).toEqual([]);
    expect(ours.violations.length).toBe(resources.length);
    expect(real).not.toEqual(expect.objectContaining({ violations: ours.violations }));
  }, 180_000);

  test("a pack that fails to type-check is reported through the engine's log service", async () => {
    fs.writeFileSync(path.join(dir, "index.ts"), "const n: number = 'not a number';\n");
    const started = PolicyRuntime.start({ packDir: dir });
    await expect(started).rejects.toThrow(/before printing its port/);
    await expect(started).rejects.toThrow(/engine log:[\s\S]*TS2322/);
  }, 180_000);
});
