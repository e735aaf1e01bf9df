/**
 * Checks that everything the GitHub Actions workflows call exists in the repository: every script
 * path a `run:` step names (scripts/..., .ci/...), every `npm run <name>` (a package.json script)
 * and every local action (`uses: ./...`). actionlint checks the rest of the workflows' syntax.
 *
 *   tsx scripts/ci/check-workflows.ts [workflows-dir]   (default: .github/workflows)
 *
 * Exit codes: 0 all present; 1 something is missing (each listed with its workflow and job).
 */
import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";

interface Step {
  run?: string;
  uses?: string;
}
interface Workflow {
  jobs?: Record<string, { steps?: Step[] }>;
}

/** Problems in one workflow file, relative to the repository root `root`. */
export function checkWorkflow(file: string, root: string): string[] {
  const wf = parse(fs.readFileSync(file, "utf8")) as Workflow;
  const pkg = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8")) as {
    scripts: Record<string, string>;
  };
  const problems: string[] = [];
  const name = path.basename(file);
  for (const [job, def] of Object.entries(wf.jobs ?? {})) {
    for (const step of def.steps ?? []) {
      if (step.uses?.startsWith("./") && !fs.existsSync(path.join(root, step.uses)))
        problems.push(`${name} job ${job}: local action ${step.uses} does not exist`);
      if (!step.run) continue;
      for (const m of step.run.matchAll(/(?:^|[\s"'=(])((?:scripts|\.ci)\/[A-Za-z0-9_./-]+)/g)) {
        if (!fs.existsSync(path.join(root, m[1]!)))
          problems.push(`${name} job ${job}: ${m[1]} does not exist`);
      }
      for (const m of step.run.matchAll(/npm run (?:--silent |-s )?([A-Za-z0-9:_-]+)/g)) {
        if (!(m[1]! in pkg.scripts))
          problems.push(`${name} job ${job}: npm run ${m[1]} is not a package.json script`);
      }
    }
  }
  return problems;
}

function main(): number {
  const root = path.resolve(__dirname, "../..");
  const dir = path.resolve(process.argv[2] ?? path.join(root, ".github/workflows"));
  const files = fs.readdirSync(dir).filter((f) => /\.ya?ml$/.test(f));
  const problems = files.flatMap((f) => checkWorkflow(path.join(dir, f), root));
  for (const p of problems) process.stderr.write(`check-workflows: ${p}\n`);
  process.stdout.write(
    `check-workflows: ${files.length} workflow(s), ${problems.length} missing reference(s)\n`,
  );
  return problems.length ? 1 : 0;
}

if (require.main === module) process.exitCode = main();
