/** The pack as a whole: exemptions, unknown values, enforcement per stack, remediation, formats. */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";
import { policies, registry } from "../../policy/policies";
import { EXEMPT_ANNOTATION, EXEMPT_REASON_ANNOTATION } from "../../policy/lib/define";
import {
  loadPackConfig,
  runPack,
  stackConfigFile,
  UNKNOWN_MARKER,
} from "../../policy/engine/evaluate";
import { formatReport } from "../../policy/engine/format";
import { goodStack, mutated, pod, violationsOf } from "./fixtures";

/** Every policy mandatory, but the opt-in ephemeral-storage check. */
const ALL = { all: "mandatory", "ephemeral-storage-limits": "disabled" } as const;

const withHostPath = () =>
  mutated("Deployment", (o) => pod(o).volumes.push({ name: "proc", hostPath: { path: "/proc" } }));

describe("exemptions", () => {
  test("an annotation with a reason exempts the object, and the exemption is listed", async () => {
    const stack = mutated("Deployment", (o) => {
      pod(o).volumes.push({ name: "proc", hostPath: { path: "/proc" } });
      o.metadata.annotations = {
        [EXEMPT_ANNOTATION]: "no-host-path",
        [EXEMPT_REASON_ANNOTATION]: "reads node metrics from /proc",
      };
    });
    const report = await runPack(stack, { config: ALL });
    expect(report.violations.filter((v) => v.policy === "no-host-path")).toEqual([]);
    expect(report.exemptions).toEqual([
      expect.objectContaining({
        policy: "no-host-path",
        reason: "reads node metrics from /proc",
        source: "annotation",
      }),
    ]);
    // The engine's output lists it too, through the advisory exemptions-listed policy.
    expect(
      report.violations.filter((v) => v.policy === "exemptions-listed").map((v) => v.message),
    ).toEqual([expect.stringMatching(/exempt from no-host-path: reads node metrics from \/proc/)]);
    expect(formatReport(report, "text")).toMatch(
      /Exemptions:\n\s+no-host-path on Deployment apps\/api \(annotation\): reads node metrics/,
    );
  });

  test("an annotation without a reason exempts nothing and is itself a violation", async () => {
    const stack = mutated("Deployment", (o) => {
      pod(o).volumes.push({ name: "proc", hostPath: { path: "/proc" } });
      o.metadata.annotations = { [EXEMPT_ANNOTATION]: "no-host-path" };
    });
    const report = await runPack(stack, { config: ALL });
    expect(report.violations.map((v) => v.policy).sort()).toEqual([
      "exemption-has-reason",
      "no-host-path",
    ]);
    expect(report.exemptions).toEqual([]);
  });

  test("a pack-config exemption names the object and carries its reason", async () => {
    const config = {
      exempt: [
        { kind: "Deployment", namespace: "apps", name: "api", reason: "node exporter needs /proc" },
      ],
    };
    expect(await violationsOf("no-host-path", withHostPath(), config)).toEqual([]);
    const report = await runPack(withHostPath(), {
      config: { all: "disabled", "no-host-path": { enforcementLevel: "mandatory", ...config } },
    });
    expect(report.exemptions).toEqual([
      expect.objectContaining({
        policy: "no-host-path",
        source: "pack config",
        reason: "node exporter needs /proc",
      }),
    ]);
    // An entry for another namespace does not apply.
    const other = { exempt: [{ namespace: "kube-system", name: "api", reason: "x" }] };
    expect(await violationsOf("no-host-path", withHostPath(), other)).toHaveLength(1);
  });
});

describe("unknown values (preview)", () => {
  test("no policy crashes when any part of any object is unknown until apply", async () => {
    const stack = goodStack();
    for (const r of stack) {
      const props = r.props as any;
      if (props.spec) props.spec = UNKNOWN_MARKER;
      if (props.rules) props.rules = UNKNOWN_MARKER;
      props.metadata.labels = UNKNOWN_MARKER;
    }
    const report = await runPack(stack, { config: ALL });
    expect(report.notices.length).toBeGreaterThan(0);
    expect(report.notices[0]!.message).toMatch(
      /can't run during preview: value at \.\S+ can't be known during preview/,
    );
  });

  test("a single unknown image only skips the image policies for that object", async () => {
    const stack = mutated("Deployment", (o) => (pod(o).containers[0].image = UNKNOWN_MARKER));
    const report = await runPack(stack, { stack: "prod" });
    expect(report.violations).toEqual([]);
    expect(report.notices.map((n) => n.policy).sort()).toEqual([
      "allowed-registries",
      "image-tag-pinned",
    ]);
  });
});

describe("stack configs", () => {
  const levels = (stack: string) => {
    const cfg = loadPackConfig(stackConfigFile(stack));
    const level = (name: string) => {
      const v = cfg[name] ?? cfg.all;
      return typeof v === "string"
        ? v
        : (v?.enforcementLevel ?? (typeof cfg.all === "string" ? cfg.all : "advisory"));
    };
    return new Map([...registry.keys()].map((n) => [n, level(n)]));
  };

  test("dev is advisory throughout, with safe remediations", () => {
    const dev = levels("dev");
    for (const [name, level] of dev) {
      expect([name, ["advisory", "remediate", "disabled"].includes(level)]).toEqual([name, true]);
    }
    expect(dev.get("seccomp-runtime-default")).toBe("remediate");
    expect(dev.get("service-account-token-automount")).toBe("remediate");
  });

  test("staging makes exactly the security and RBAC policies mandatory", () => {
    for (const [name, level] of levels("staging")) {
      const theme = registry.get(name)!.theme;
      if (level === "disabled") continue;
      expect([name, level]).toEqual([
        name,
        theme === "security" || theme === "rbac" ? "mandatory" : "advisory",
      ]);
    }
  });

  test("prod makes every policy mandatory but the exemption notices and the opt-in check", () => {
    for (const [name, level] of levels("prod")) {
      const expected =
        name === "exemptions-listed"
          ? "advisory"
          : name === "ephemeral-storage-limits"
            ? "disabled"
            : "mandatory";
      expect([name, level]).toEqual([name, expected]);
    }
  });

  test.each(["dev", "staging", "prod"])("%s declares the same nodes as its stack file", (stack) => {
    const cfg = loadPackConfig(stackConfigFile(stack)) as any;
    const stackFile = parse(
      fs.readFileSync(path.resolve(__dirname, `../../Pulumi.${stack}.yaml`), "utf8"),
    );
    const nodes = stackFile.config["auditflow-platform:cluster"].nodes.map((n: any) => ({
      name: n.name,
      arch: n.arch,
      cpu: n.cpu,
      memory: n.memory,
      role: n.role,
    }));
    expect(cfg["stack-capacity-fits"].nodes).toEqual(nodes);
    expect([...cfg["image-architectures"].architectures].sort()).toEqual(
      [...new Set(nodes.map((n: any) => n.arch))].sort(),
    );
  });

  test("in dev the same violation is advisory, in prod mandatory", async () => {
    const stack = mutated(
      "Deployment",
      (o) => (pod(o).containers[0].image = "ghcr.io/auditflow/api:latest"),
    );
    const dev = await runPack(stack, { stack: "dev" });
    const prod = await runPack(stack, { stack: "prod" });
    expect(dev.violations.find((v) => v.policy === "image-tag-pinned")?.enforcement).toBe(
      "advisory",
    );
    expect(dev.summary.mandatory).toBe(0);
    expect(prod.violations.find((v) => v.policy === "image-tag-pinned")?.enforcement).toBe(
      "mandatory",
    );
  });

  test("remediation fixes seccomp and the token mount at the remediate level only", async () => {
    const stack = mutated("Deployment", (o) => {
      delete pod(o).securityContext.seccompProfile;
      pod(o).automountServiceAccountToken = true;
    });
    const dev = await runPack(stack, { stack: "dev" });
    expect(dev.remediations.map((r) => r.policy).sort()).toEqual([
      "seccomp-runtime-default",
      "service-account-token-automount",
    ]);
    expect(
      dev.violations.filter((v) =>
        ["seccomp-runtime-default", "service-account-token-automount"].includes(v.policy),
      ),
    ).toEqual([]);
    const staging = await runPack(stack, { stack: "staging" });
    expect(staging.remediations).toEqual([]);
    expect(
      staging.violations
        .filter((v) => v.enforcement === "mandatory")
        .map((v) => v.policy)
        .sort(),
    ).toEqual(["seccomp-runtime-default", "service-account-token-automount"]);
  });

  test("a bad enforcement level in pack config is refused with its name", async () => {
    await expect(
      runPack(goodStack(), { config: { "no-privileged": "strict" as any } }),
    ).rejects.toThrow(
      /no-privileged: "strict" is not an enforcement level; allowed: advisory, mandatory, remediate, disabled/,
    );
  });
});

describe("the pack", () => {
  test("has one policy per name, each registered with a theme, a fix and a description", () => {
    const names = policies.map((p) => p.name);
    expect(new Set(names).size).toBe(names.length);
    expect(names.length).toBeGreaterThanOrEqual(50);
    for (const n of names) {
      expect(n).toMatch(/^[a-z0-9]+(-[a-z0-9]+)*$/);
      const meta = registry.get(n)!;
      expect([n, meta.description.length > 10, meta.fix.length > 5]).toEqual([n, true, true]);
    }
  });

  test("the compliant fixture passes the whole pack at prod's levels", async () => {
    const report = await runPack(goodStack(), { stack: "prod" });
    expect(report.violations.filter((v) => v.enforcement === "mandatory")).toEqual([]);
  });
});

describe("report formats", () => {
  const bad = () =>
    mutated("Deployment", (o) => (pod(o).containers[0].securityContext.privileged = true));
  test("json carries violations, exemptions and a summary", async () => {
    const doc = JSON.parse(formatReport(await runPack(bad(), { stack: "prod" }), "json"));
    expect(doc.summary).toMatchObject({ mandatory: 1, advisory: 0 });
    expect(doc.violations[0]).toMatchObject({
      policy: "no-privileged",
      enforcement: "mandatory",
      resource: { type: "kubernetes:apps/v1:Deployment", name: "api", namespace: "apps" },
    });
    expect(doc.exemptions).toEqual([]);
  });
  test("sarif is a SARIF 2.1.0 log with one result per violation", async () => {
    const doc = JSON.parse(
      formatReport(await runPack(bad(), { stack: "prod" }), "sarif", {
        artifact: () => "out/prod/api.yaml",
      }),
    );
    expect(doc.version).toBe("2.1.0");
    expect(doc.runs[0].tool.driver.rules.map((r: any) => r.id)).toEqual(["no-privileged"]);
    expect(doc.runs[0].results[0]).toMatchObject({
      ruleId: "no-privileged",
      level: "error",
      locations: [{ physicalLocation: { artifactLocation: { uri: "out/prod/api.yaml" } } }],
    });
  });
  test("markdown puts mandatory first and folds advisory", async () => {
    const stack = mutated("Deployment", (o) => {
      pod(o).containers[0].securityContext.privileged = true;
      pod(o).containers[0].image = "ghcr.io/auditflow/api:latest";
    });
    const md = formatReport(await runPack(stack, { stack: "staging" }), "markdown");
    expect(md).toMatch(/❌ 1 mandatory/);
    expect(md.indexOf("#### Mandatory")).toBeLessThan(
      md.indexOf("<details><summary>Advisory (1 in 1 groups)</summary>"),
    );
    expect(md).toMatch(
      /\| critical \| \[`no-privileged`\]\(https:\/\/\S+\) \| 1 \| Deployment apps\/api \| container "app" is privileged \|/,
    );
  });
});

test("the README's policy table is the one the pack generates", () => {
  const root = path.resolve(__dirname, "../..");
  const r = spawnSync(path.join(root, "node_modules/.bin/tsx"), ["scripts/policy-table.ts"], {
    cwd: root,
    encoding: "utf8",
  });
  expect(r.status).toBe(0);
  const readme = fs.readFileSync(path.join(root, "README.md"), "utf8");
  const table = readme
    .split("<!-- policy-table:start -->\n")[1]!
    .split("\n<!-- policy-table:end -->")[0];
  expect(table).toBe(r.stdout.trim());
});
