/**
 * `npm run rollback`: its choices (pure, property-tested) and its command line end to end against a
 * stand-in for the Pulumi CLI. The real CLI cannot be installed here (see README, "The real Pulumi
 * engine"); the stand-in answers `stack output`, `stack history` and `stack export [--version N]`
 * from recorded states in the CLI's JSON formats and logs every call, so the test sees exactly
 * which pulumi commands the rollback runs, in which order, with which arguments; given
 * `--config-file`, it also makes `config rm/set --path` changes to that file, so the test can check
 * the stack file a rollback leaves behind.
 */
import { spawnSync } from "child_process";
import fc from "fast-check";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parse, stringify } from "yaml";
import { validateConfig } from "../../infra/validate";
import {
  candidateVersions,
  chooseTarget,
  parseRollbackArgs,
  ServiceImages,
} from "../../scripts/lib/rollback";
import { PROJECT, rawConfig } from "../helpers/stack-config";

const ROOT = path.resolve(__dirname, "../..");
const SERVICE = "audit-log-analysis";
const digest = (c: string) => `sha256:${c.repeat(64)}`;
const image = (c: string) => `ghcr.io/auditflow/audit-log-analysis@${digest(c)}`;
const images = (ref: string): ServiceImages => ({
  [SERVICE]: { image: ref, digest: ref.split("@")[1] ?? null },
});
const URN =
  "urn:pulumi:prod::auditflow-platform::auditflow:apps:AuditFlowService$auditflow:apps:Workload$kubernetes:apps/v1:Deployment::audit-log-analysis";

/** A state as `pulumi stack export` prints it, with the Stack's outputs and the Deployment. */
const state = (ref: string) => ({
  version: 3,
  deployment: {
    resources: [
      {
        urn: "urn:pulumi:prod::auditflow-platform::pulumi:pulumi:Stack::auditflow-platform-prod",
        type: "pulumi:pulumi:Stack",
        outputs: { serviceImages: images(ref) },
      },
      { urn: URN, type: "kubernetes:apps/v1:Deployment", outputs: {} },
    ],
  },
});

describe("rollback choices", () => {
  test("parses the documented flags and rejects anything else naming the flag", () => {
    const stacks = ["dev", "prod"];
    expect(
      parseRollbackArgs(["--stack", "prod", "--service", SERVICE, "--to", "7"], stacks, [SERVICE]),
    ).toEqual({
      stack: "prod",
      service: SERVICE,
      to: 7,
      dryRun: false,
      yes: false,
    });
    expect(() =>
      parseRollbackArgs(["--stack", "qa", "--service", SERVICE], stacks, [SERVICE]),
    ).toThrow("--stack must be one of dev, prod (got qa)");
    expect(() =>
      parseRollbackArgs(["--stack", "dev", "--service", "web"], stacks, [SERVICE]),
    ).toThrow("--service must be one of audit-log-analysis (got web)");
    expect(() =>
      parseRollbackArgs(["--stack", "dev", "--service", SERVICE, "--to", "0"], stacks, [SERVICE]),
    ).toThrow('--to must be a stack version number from pulumi stack history (got "0")');
    expect(() => parseRollbackArgs(["--stack", "dev", "--force"], stacks, [SERVICE])).toThrow(
      'unknown argument "--force"',
    );
    expect(
      parseRollbackArgs(
        ["--stack", "dev", "--service", SERVICE, "--config-file", "stacks/dev.yaml"],
        stacks,
        [SERVICE],
      ).configFile,
    ).toBe("stacks/dev.yaml");
    expect(() =>
      parseRollbackArgs(["--stack", "dev", "--service", SERVICE, "--config-file"], stacks, [
        SERVICE,
      ]),
    ).toThrow("--config-file needs a value");
  });

  test("--to accepts exactly the positive version numbers (property)", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 12 }), (to) => {
        const parse = () =>
          parseRollbackArgs(
            ["--stack", "dev", "--service", SERVICE, "--to", to],
            ["dev"],
            [SERVICE],
          );
        if (/^[1-9]\d{0,8}$/.test(to)) expect(parse().to).toBe(Number(to));
        else if (to.startsWith("--")) expect(parse).toThrow("--to needs a value");
        else expect(parse).toThrow("--to must be a stack version number");
      }),
    );
  });

  test("returns to the newest earlier succeeded update that ran another image (property)", () => {
    const entry = fc.record({
      kind: fc.constantFrom("update", "refresh", "destroy"),
      result: fc.constantFrom("succeeded", "failed"),
      image: fc.constantFrom("a", "b", "c"),
    });
    fc.assert(
      fc.property(fc.array(entry, { minLength: 1, maxLength: 12 }), (entries) => {
        const history = entries.map((e, i) => ({ version: i + 1, kind: e.kind, result: e.result }));
        const ran = new Map(entries.map((e, i) => [i + 1, image(e.image)]));
        const okVersions = history
          .filter((h) => h.kind === "update" && h.result === "succeeded")
          .map((h) => h.version);
        if (okVersions.length === 0) return;
        const currentVersion = Math.max(...okVersions);
        const current = ran.get(currentVersion)!;
        const candidates = candidateVersions(history).map((v) => ({
          version: v,
          images: images(ran.get(v)!),
        }));
        // By hand: the highest succeeded update below the current one with another image.
        const expected = okVersions
          .filter((v) => v < currentVersion && ran.get(v) !== current)
          .sort((a, b) => b - a)[0];
        if (expected === undefined) {
          expect(() => chooseTarget(SERVICE, current, candidates, false)).toThrow(
            /no earlier succeeded update/,
          );
        } else {
          expect(chooseTarget(SERVICE, current, candidates, false)).toEqual({
            version: expected,
            image: ran.get(expected),
          });
        }
      }),
    );
  });

  test("refuses to return to an image that is not pinned by digest", () => {
    const tagged = "ghcr.io/auditflow/audit-log-analysis:0.4.1";
    expect(() =>
      chooseTarget(SERVICE, image("b"), [{ version: 3, images: images(tagged) }], false),
    ).toThrow(
      /ran audit-log-analysis as ghcr.io\/auditflow\/audit-log-analysis:0.4.1, which is not pinned by digest/,
    );
  });

  test("--to must name a succeeded update", () => {
    const history = [
      { version: 1, kind: "update", result: "succeeded" },
      { version: 2, kind: "update", result: "failed" },
    ];
    expect(() => candidateVersions(history, 2)).toThrow(
      "--to 2 is not a succeeded update of this stack; succeeded updates: 1",
    );
  });
});

describe("npm run rollback against a stand-in pulumi", () => {
  let dir: string;
  let log: string;
  const run = (args: string[], recorded: Record<string, unknown>) => {
    fs.writeFileSync(path.join(dir, "recorded.json"), JSON.stringify(recorded));
    fs.writeFileSync(log, "");
    const r = spawnSync(
      path.join(ROOT, "node_modules/.bin/tsx"),
      ["scripts/rollback.ts", ...args],
      { cwd: ROOT, encoding: "utf8", env: { ...process.env, PULUMI: path.join(dir, "pulumi") } },
    );
    const calls = fs
      .readFileSync(log, "utf8")
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l) as string[]);
    return { code: r.status, stdout: r.stdout, stderr: r.stderr, calls };
  };

  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "rollback-"));
    log = path.join(dir, "calls.log");
    // The stand-in: answers from recorded.json, logs its arguments as one JSON line per call.
    fs.writeFileSync(
      path.join(dir, "fake-pulumi.js"),
      `const fs = require("fs");
const a = process.argv.slice(2);
fs.appendFileSync(${JSON.stringify(log)}, JSON.stringify(a) + "\\n");
const rec = JSON.parse(fs.readFileSync(${JSON.stringify(path.join(dir, "recorded.json"))}, "utf8"));
const at = (f) => a[a.indexOf(f) + 1];
if (a[0] === "stack" && a[1] === "output") console.log(JSON.stringify(rec.outputs[a[a.length - 1]]));
else if (a[0] === "stack" && a[1] === "history") console.log(JSON.stringify(rec.history));
else if (a[0] === "stack" && a[1] === "export") console.log(JSON.stringify(rec.states[a.includes("--version") ? at("--version") : "current"]));
else if (a[0] === "up" && rec.upFails) { console.error("error: update failed"); process.exit(255); }
else if (a[0] === "config" && a.includes("--config-file")) {
  // pulumi config rm/set --path services[i].key on the stack file, comments kept.
  const YAML = require(${JSON.stringify(path.join(ROOT, "node_modules/yaml"))});
  const file = at("--config-file");
  const doc = YAML.parseDocument(fs.readFileSync(file, "utf8"));
  const m = /^services\\[(\\d+)\\]\\.(\\w+)$/.exec(at("--path"));
  const key = ["config", "auditflow-platform:services", Number(m[1]), m[2]];
  if (a[1] === "rm") doc.deleteIn(key); else doc.setIn(key, a[a.length - 1]);
  fs.writeFileSync(file, doc.toString());
}
`,
    );
    fs.writeFileSync(
      path.join(dir, "pulumi"),
      `#!/bin/sh\nexec "${process.execPath}" "${path.join(dir, "fake-pulumi.js")}" "$@"\n`,
      { mode: 0o755 },
    );
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  /** The targeted `pulumi up --yes` of the Deployment, with the stack's policy pack. */
  const upCall = (configFile: string[] = []) => [
    "up",
    "--stack",
    "prod",
    ...configFile,
    "--target",
    URN,
    "--policy-pack",
    "policy",
    "--policy-pack-config",
    "policy/config/prod.json",
    "--yes",
  ];

  const recorded = (over: Record<string, unknown> = {}) => ({
    outputs: { serviceImages: images(image("c")) },
    history: [
      { version: 1, kind: "update", result: "succeeded" },
      { version: 2, kind: "update", result: "succeeded" },
      { version: 3, kind: "update", result: "failed" },
      { version: 4, kind: "update", result: "succeeded" },
    ],
    states: {
      "1": state(image("a")),
      "2": state(image("b")),
      "4": state(image("c")),
      current: state(image("c")),
    },
    ...over,
  });

  test("sets the previous digest in the stack config and runs a targeted pulumi up with the policy pack", () => {
    const r = run(["--stack", "prod", "--service", SERVICE, "--yes"], recorded());
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.calls).toEqual([
      ["stack", "output", "--stack", "prod", "--json", "serviceImages"],
      ["stack", "history", "--stack", "prod", "--json"],
      ["stack", "export", "--stack", "prod", "--version", "2"],
      ["stack", "export", "--stack", "prod"],
      ["config", "set", "--stack", "prod", "--path", "services[1].image", image("b")],
      upCall(),
    ]);
    expect(r.stdout).toContain(`back to: ${image("b")} (ran in stack version 2)`);
  });

  test("--to returns to that version's image", () => {
    const r = run(["--stack", "prod", "--service", SERVICE, "--to", "1"], recorded());
    expect(r.code).toBe(0);
    expect(r.calls[2]).toEqual(["stack", "export", "--stack", "prod", "--version", "1"]);
    expect(r.calls[4]).toEqual([
      "config",
      "set",
      "--stack",
      "prod",
      "--path",
      "services[1].image",
      image("a"),
    ]);
    // Without --yes, pulumi up asks for confirmation itself.
    expect(r.calls[5]).not.toContain("--yes");
  });

  test("--dry-run changes nothing", () => {
    const r = run(["--stack", "prod", "--service", SERVICE, "--dry-run"], recorded());
    expect(r.code).toBe(0);
    expect(r.calls.map((c) => c[0])).toEqual(["stack", "stack", "stack", "stack"]);
    expect(r.stdout).toContain("dry run: config and cluster unchanged");
  });

  test("exits 2 without touching config when no earlier update ran another image", () => {
    const same = recorded({
      states: { "1": state(image("c")), "2": state(image("c")), current: state(image("c")) },
    });
    const r = run(["--stack", "prod", "--service", SERVICE], same);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/no earlier succeeded update ran another image of audit-log-analysis/);
    expect(r.calls.some((c) => c[0] === "config" || c[0] === "up")).toBe(false);
  });

  test("exits 1 with pulumi's message when the update fails", () => {
    const r = run(["--stack", "prod", "--service", SERVICE, "--yes"], recorded({ upFails: true }));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/rollback: .*pulumi up --stack prod .* failed \(exit 255\)/);
  });

  test("for a built service, removes its build key before setting the image, in the stack file given, and the result is a valid stack", () => {
    const file = path.join(dir, "Pulumi.prod.yaml");
    const doc = parse(fs.readFileSync(path.join(ROOT, "Pulumi.prod.yaml"), "utf8"));
    const entries = doc.config[`${PROJECT}:services`] as Record<string, unknown>[];
    const index = entries.findIndex((e) => e.name === SERVICE);
    delete entries[index]!.image;
    entries[index]!.build = { context: "components/images/postgres-backup" };
    fs.writeFileSync(file, stringify(doc));
    const r = run(
      ["--stack", "prod", "--service", SERVICE, "--config-file", file, "--yes"],
      recorded(),
    );
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const cf = ["--config-file", file];
    expect(r.calls.slice(4)).toEqual([
      ["config", "rm", "--stack", "prod", ...cf, "--path", `services[${index}].build`],
      ["config", "set", "--stack", "prod", ...cf, "--path", `services[${index}].image`, image("b")],
      upCall(cf),
    ]);
    expect(r.stdout).toContain(`services[${index}].build removed (restore it to roll forward)`);
    // The stack file now names the image and no build, and the program's validation accepts it.
    const after = parse(fs.readFileSync(file, "utf8")).config[`${PROJECT}:services`];
    expect(after[index]).toEqual({ ...entries[index], build: undefined, image: image("b") });
    expect(after[index]).not.toHaveProperty("build");
    const v = validateConfig({ ...rawConfig("prod"), services: after }, PROJECT);
    expect(v.ok ? [] : v.problems).toEqual([]);
  });

  test("a service that does not build keeps its entry's other keys and gets no config rm", () => {
    const file = path.join(dir, "Pulumi.prod.yaml");
    fs.copyFileSync(path.join(ROOT, "Pulumi.prod.yaml"), file);
    const r = run(["--stack", "prod", "--service", SERVICE, "--config-file", file], recorded());
    expect(r.code).toBe(0);
    expect(r.calls.some((c) => c[0] === "config" && c[1] === "rm")).toBe(false);
    const before = rawConfig("prod").services as Record<string, unknown>[];
    const after = parse(fs.readFileSync(file, "utf8")).config[`${PROJECT}:services`];
    const index = before.findIndex((e) => e.name === SERVICE);
    expect(after[index]).toEqual({ ...before[index], image: image("b") });
    expect(after.filter((_: unknown, i: number) => i !== index)).toEqual(
      before.filter((_, i) => i !== index),
    );
  });
});
