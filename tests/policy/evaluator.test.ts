/** Where the offline evaluator follows Pulumi's policy runtime and engine rather than its own rules. */
import { policies } from "../../policy/policies";
import type { ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import {
  PackConfigError,
  PlannedResource,
  PolicyMutation,
  reconcileConfig,
  runPack,
  stackConfigFile,
  loadPackConfig,
  UNKNOWN_MARKER,
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

describe("each policy judges the properties as they were: one policy cannot change what the next sees", () => {
  const deployment = (props: Record<string, unknown> = {}): PlannedResource => ({
    urn: "urn:pulumi:test::p::kubernetes:apps/v1:Deployment::web",
    type: "kubernetes:apps/v1:Deployment",
    name: "web",
    props: {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "web", namespace: "apps", labels: { tier: "front" } },
      spec: { replicas: 2, template: { spec: { containers: [{ name: "web", image: "x:1" }] } } },
      ...props,
    },
  });
  /** A policy that reports the replicas and labels it reads, in that order. */
  const reader: ResourceValidationPolicy = {
    name: "reader",
    description: "reports what it reads",
    validateResource: (args, report) => {
      const { metadata, spec } = args.props as any;
      report(`replicas ${spec.replicas}, labels ${JSON.stringify(metadata.labels)}`);
    },
  };
  /** A policy that tries every kind of write, swallowing each failure (as sloppy code would). */
  const scribbler: ResourceValidationPolicy = {
    name: "scribbler",
    description: "writes to what it judges",
    validateResource: (args) => {
      const tries: (() => void)[] = [
        () => ((args.props as any).spec.replicas = 0),
        () => ((args.props as any).metadata.labels.tier = "changed"),
        () => delete (args.props as any).metadata.labels,
        () => (args.props as any).spec.template.spec.containers.push({ name: "extra" }),
        () => ((args as any).props = { spec: { replicas: 99 }, metadata: { labels: {} } }),
      ];
      for (const t of tries)
        try {
          t();
        } catch {
          // refused
        }
    },
  };
  const run = (resources: PlannedResource[], pols: ResourceValidationPolicy[]) =>
    runPack(resources, { policies: pols, config: { all: "mandatory" } });

  test("a policy after one that writes to the properties reads them unchanged", async () => {
    const report = await run([deployment()], [scribbler, reader]);
    expect(report.violations.map((v) => v.message)).toEqual([
      'replicas 2, labels {"tier":"front"}',
    ]);
  });

  test("the same holds in a preview, where some values are unknown", async () => {
    const resource = deployment({ status: UNKNOWN_MARKER });
    const report = await run([resource], [scribbler, reader]);
    expect(report.violations.map((v) => v.message)).toEqual([
      'replicas 2, labels {"tier":"front"}',
    ]);
  });

  test.each([
    [
      "an assignment",
      (p: any) => (p.spec.replicas = 0),
      /Cannot assign to read only property 'replicas'/,
    ],
    ["a push", (p: any) => p.spec.template.spec.containers.push({}), /Cannot add property 1/],
    ["a delete", (p: any) => delete p.metadata.labels, /Cannot delete property 'labels'/],
  ])(
    "%s to the properties fails the run, naming the policy and the resource",
    async (_t, write, how) => {
      const writer: ResourceValidationPolicy = {
        name: "writer",
        description: "writes",
        validateResource: (args) => {
          write(args.props);
        },
      };
      const attempt = run([deployment()], [writer]);
      await expect(attempt).rejects.toThrow(PolicyMutation);
      await expect(attempt).rejects.toThrow(
        /^policy writer changed the properties of kubernetes:apps\/v1:Deployment web it was given to judge \(.+\): a policy must only read them/,
      );
      await expect(attempt).rejects.toThrow(how);
    },
  );

  test("in a preview too, a write fails the run instead of reaching the next policy", async () => {
    const writer: ResourceValidationPolicy = {
      name: "writer",
      description: "writes",
      validateResource: (args) => {
        (args.props as any).metadata.labels.tier = "changed";
      },
    };
    await expect(run([deployment({ status: UNKNOWN_MARKER })], [writer])).rejects.toThrow(
      /^policy writer changed the properties .* \(Cannot assign to read only property 'tier' at \.metadata\.labels\)/,
    );
  });

  test("a stack policy cannot change the resources the next stack policy sees", async () => {
    const seen: string[] = [];
    const stackScribbler: StackValidationPolicy = {
      name: "stack-scribbler",
      description: "writes",
      validateStack: (args) => {
        for (const t of [
          () => (args.resources as any[]).pop(),
          () => ((args.resources[0] as any).props = {}),
          () => ((args.resources[0]!.props as any).spec.replicas = 0),
        ])
          try {
            t();
          } catch {
            // refused
          }
      },
    };
    const stackReader: StackValidationPolicy = {
      name: "stack-reader",
      description: "reads",
      validateStack: (args) => {
        for (const r of args.resources) seen.push(`${r.name} ${(r.props as any).spec.replicas}`);
      },
    };
    await runPack([deployment()], {
      policies: [stackScribbler, stackReader],
      config: { all: "mandatory" },
    });
    expect(seen).toEqual(["web 2"]);
  });

  test("the caller's resources are neither changed nor frozen by a run", async () => {
    const resources = [deployment()];
    const before = structuredClone(resources);
    await run(resources, [scribbler, reader]);
    expect(resources).toEqual(before);
    expect(Object.isFrozen(resources[0]!.props)).toBe(false);
    expect(Object.isFrozen((resources[0]!.props as any).metadata)).toBe(false);
  });
});
