/**
 * The GitHub Actions workflows: per-stack matrices follow the Pulumi.<stack>.yaml files, prod
 * deploys through its protected environment after staging, actions are pinned by commit SHA with
 * least-privilege permissions, and every script the workflows call exists.
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parse } from "yaml";
import { checkWorkflow } from "../../scripts/ci/check-workflows";

const root = path.resolve(__dirname, "../..");
const dir = path.join(root, ".github/workflows");
const load = (f: string) => parse(fs.readFileSync(path.join(dir, f), "utf8")) as any;
const workflows = fs.readdirSync(dir).filter((f) => f.endsWith(".yml"));
const matrix = (d?: string) =>
  JSON.parse(
    execFileSync("bash", [path.join(root, "scripts/ci/stack-matrix.sh"), ...(d ? [d] : [])], {
      encoding: "utf8",
    }),
  ) as string[];

test("the stack matrix is exactly the Pulumi.<stack>.yaml files present", () => {
  const files = fs
    .readdirSync(root)
    .map((f) => /^Pulumi\.(.+)\.yaml$/.exec(f)?.[1])
    .filter(Boolean)
    .sort();
  expect(matrix()).toEqual(files);
  const d = fs.mkdtempSync(path.join(os.tmpdir(), "stacks-"));
  for (const s of ["dev", "qa", "prod"]) fs.writeFileSync(path.join(d, `Pulumi.${s}.yaml`), "");
  fs.writeFileSync(path.join(d, "Pulumi.yaml"), "");
  expect(matrix(d)).toEqual(["dev", "prod", "qa"]);
});

test.each([
  ["pull-request.yml", ["plan", "preview"]],
  ["drift.yml", ["drift"]],
])("%s runs its per-stack jobs over the stack matrix", (file, jobs) => {
  const wf = load(file);
  expect(wf.jobs.stacks.steps.map((s: any) => s.run ?? "").join()).toContain(
    "scripts/ci/stack-matrix.sh",
  );
  for (const job of jobs) {
    expect(wf.jobs[job].needs).toContain("stacks");
    expect(wf.jobs[job].strategy.matrix.stack).toBe("${{ fromJSON(needs.stacks.outputs.stacks) }}");
  }
});

test("the pull request previews each stack with the policy pack and that stack's pack config", () => {
  const steps = load("pull-request.yml").jobs.preview.steps as any[];
  const preview = steps.find((s) => s.with?.command === "preview");
  expect(preview.with.policyPacks).toBe("policy");
  expect(preview.with.policyPackConfigs).toBe("policy/config/${{ matrix.stack }}.json");
});

test("prod deploys after staging, after dev, through its own protected environment", () => {
  const deploy = load("deploy.yml");
  expect(deploy.jobs.dev.needs).toBe("images");
  expect(deploy.jobs.staging.needs).toBe("dev");
  expect(deploy.jobs.prod.needs).toBe("staging");
  expect(deploy.jobs.prod.uses).toBe("./.github/workflows/deploy-stack.yml");
  expect(deploy.jobs.prod.with.stack).toBe("prod");
  const up = load("deploy-stack.yml").jobs.up;
  expect(up.environment.name).toBe("${{ inputs.stack }}");
  expect(up.concurrency).toEqual({
    group: "deploy-${{ inputs.stack }}",
    "cancel-in-progress": false,
  });
  const upStep = up.steps.find((s: any) => s.with?.command === "up");
  expect(upStep.with.policyPackConfigs).toBe("policy/config/${{ inputs.stack }}.json");
  const rollback = up.steps.find((s: any) => /rollback\.sh restore/.test(s.run ?? ""));
  expect(rollback.if).toBe("failure() && steps.up.outcome == 'failure'");
});

test.each(workflows)(
  "%s pins every action by commit SHA and grants no default permissions",
  (f) => {
    const wf = load(f);
    expect(wf.permissions).toEqual({});
    for (const [name, job] of Object.entries<any>(wf.jobs)) {
      if (job.uses) continue; // a reusable workflow's jobs declare their own permissions
      expect([name, typeof job.permissions]).toEqual([name, "object"]);
      for (const step of job.steps) {
        if (!step.uses || step.uses.startsWith("./")) continue;
        expect(step.uses).toMatch(/^[\w.-]+\/[\w./-]+@[0-9a-f]{40}$/);
      }
    }
  },
);

test("every script and npm script the workflows call exists", () => {
  expect(workflows.flatMap((f) => checkWorkflow(path.join(dir, f), root))).toEqual([]);
});

test("a workflow calling a missing script or npm script is reported", () => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), "wf-"));
  const file = path.join(d, "bad.yml");
  fs.writeFileSync(
    file,
    "on: push\njobs:\n  x:\n    runs-on: ubuntu-24.04\n    steps:\n      - run: bash scripts/ci/nope.sh && npm run --silent nope\n",
  );
  expect(checkWorkflow(file, root)).toEqual([
    "bad.yml job x: scripts/ci/nope.sh does not exist",
    "bad.yml job x: npm run nope is not a package.json script",
  ]);
});
