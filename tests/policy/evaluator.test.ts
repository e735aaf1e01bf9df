/** Where the offline evaluator follows Pulumi's policy runtime and engine rather than its own rules. */
import { policies } from "../../policy/policies";
import {
  PackConfigError,
  reconcileConfig,
  runPack,
  stackConfigFile,
  loadPackConfig,
} from "../../policy/engine/evaluate";
import { goodStack } from "./fixtures";

describe("pack config, validated as the engine validates it before Configure", () => {
  test("a wrong type is refused with the policy and the key, every problem at once", async () => {
    const config = {
      "stack-capacity-fits": { nodes: "pi-dev-1" },
      "allowed-registries": { registries: [42] },
    };
    const run = runPack(goodStack(), { config: config as any });
    await expect(run).rejects.toThrow(PackConfigError);
    await expect(run).rejects.toThrow(/stack-capacity-fits: nodes must be array/);
    await expect(run).rejects.toThrow(/allowed-registries: registries\[0\] must be string/);
  });

  test("an exemption without a reason is refused by the schema, naming the missing key", () => {
    expect(() =>
      reconcileConfig(policies, "advisory", { "no-host-path": { exempt: [{ name: "api" }] } }),
    ).toThrow(/no-host-path: exempt\[0\]\.reason must have required property 'reason'/);
  });

  test("every stack's pack config passes the schemas", () => {
    for (const stack of ["dev", "staging", "prod"])
      expect(() =>
        reconcileConfig(policies, "advisory", loadPackConfig(stackConfigFile(stack))),
      ).not.toThrow();
  });

  test("a policy without a configured level falls back to the pack's level", () => {
    const levels = reconcileConfig(policies, "mandatory", { "no-privileged": "advisory" });
    expect(levels.get("no-privileged")!.level).toBe("advisory");
    expect(levels.get("no-host-path")!.level).toBe("mandatory");
    expect(reconcileConfig(policies, "advisory", {}).get("no-host-path")!.level).toBe("advisory");
  });

  test("schema defaults fill properties the config leaves out", () => {
    const cfg = reconcileConfig(policies, "advisory", {});
    expect(cfg.get("no-host-path")!.props).toEqual({ exempt: [] });
  });
});

describe("stack policies see outputs", () => {
  test("empty outputs (first preview, provider not configured yet) are a notice, not a violation", async () => {
    const stack = goodStack().map((r) => ({ ...r, outputs: {} }));
    const report = await runPack(stack, { config: { all: "mandatory" }, only: "stack" });
    expect(report.violations).toEqual([]);
    expect(report.notices.map((n) => n.policy)).toContain("namespace-default-deny");
    expect(report.notices[0]!.message).toMatch(
      /cannot judge yet: \d+ Kubernetes object\(s\) have no outputs until the first apply/,
    );
  });

  test("a stack policy judges the outputs, not the inputs", async () => {
    // The inputs have the default-deny policy; the outputs (what exists after the step) do not.
    const stack = goodStack().map((r) =>
      r.name === "default-deny" && r.type.endsWith(":NetworkPolicy")
        ? { ...r, outputs: { ...r.props, spec: { podSelector: {}, policyTypes: ["Ingress"] } } }
        : r,
    );
    const report = await runPack(stack, {
      config: { all: "disabled", "namespace-default-deny": "mandatory" },
    });
    expect(report.violations.map((v) => v.policy)).toEqual(["namespace-default-deny"]);
  });
});

test("each violation carries the policy's description, which the engine shows above the message", async () => {
  const stack = goodStack().filter((r) => r.name !== "default-deny");
  const report = await runPack(stack, {
    config: { all: "disabled", "namespace-default-deny": "mandatory" },
  });
  expect(report.violations[0]!.description).toBe(
    policies.find((p) => p.name === "namespace-default-deny")!.description,
  );
});
