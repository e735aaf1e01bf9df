/**
 * The cluster twin: applies a stack to a real Kubernetes control plane (etcd, kube-apiserver,
 * kube-controller-manager, kube-scheduler of the release the stacks' K3s runs) with simulated nodes
 * (kwok) shaped like the stack's hardware, and reports whether everything comes up and where.
 *
 *   npm run twin -- --stack <dev|staging|prod> [--config-file F] [--keep] [--format text|json]
 *
 * Exit codes: 0 everything up; 1 a rejection, an unschedulable pod or a rollout timeout (each named
 * with the API server's or scheduler's own message); 2 bad input or a build/start failure.
 * Logs stay under out/twin/<stack>/ when the run fails. With --keep the twin keeps running until
 * Ctrl-C, and prints a kubeconfig to inspect it with the twin's kubectl.
 */
import * as path from "path";
import { parseArgs } from "util";
import { TwinSetupError } from "./twin/lib/cluster";
import { placementTable, runTwin, TwinInputError, TwinResult } from "./twin/lib/twin";

interface Cli {
  stack: string;
  configFile?: string;
  keep: boolean;
  format: "text" | "json";
}

function parseCli(argv: string[]): Cli {
  const { values } = parseArgs({
    args: argv,
    options: {
      stack: { type: "string" },
      "config-file": { type: "string" },
      keep: { type: "boolean", default: false },
      format: { type: "string", default: "text" },
    },
    strict: true,
  });
  if (!values.stack) throw new TwinInputError("--stack is required (dev, staging or prod)");
  if (!/^[A-Za-z0-9_.-]+$/.test(values.stack))
    throw new TwinInputError(`--stack "${values.stack}" is not a valid stack name`);
  if (values.format !== "text" && values.format !== "json")
    throw new TwinInputError(`--format must be text or json (got "${values.format}")`);
  return {
    stack: values.stack,
    configFile: values["config-file"],
    keep: values.keep,
    format: values.format,
  };
}

const secs = (ms: number | undefined) => `${((ms ?? 0) / 1000).toFixed(1)}s`;

function textReport(r: TwinResult): string {
  const out = [
    "",
    `Placement (stack ${r.stack}):`,
    placementTable(r.placement),
    "",
    `Timings: render ${secs(r.timings.render)}, build ${secs(r.timings.build)}, control plane ${secs(r.timings.controlPlane)}, apply ${secs(r.timings.apply)} (${r.objects} objects), rollouts ${secs(r.timings.rollouts)}; up from nothing in ${secs(r.timings.upFromNothing)}`,
    `Control plane peak memory: ${Math.round(r.peakMemory / 2 ** 20)} MiB`,
    "",
  ];
  if (r.notRun.length) {
    out.push("Not run on the twin (accepted, but what it would do is not proven):");
    for (const l of r.notRun) out.push(`  - ${l}`);
    out.push("");
  }
  if (r.ok)
    out.push(`Result: stack ${r.stack} is up: every object accepted, every rollout complete.`);
  else {
    out.push(`Result: stack ${r.stack} did NOT come up (${r.problems.length} problem(s)):`);
    for (const p of r.problems) out.push(`  - ${p.object} [${p.source}]: ${p.message}`);
  }
  return out.join("\n");
}

async function main(): Promise<number> {
  let cli: Cli;
  try {
    cli = parseCli(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`twin: ${(e as Error).message}\n`);
    return 2;
  }
  const logDir = path.join("out", "twin", cli.stack);
  try {
    const r = await runTwin({
      stack: cli.stack,
      configFile: cli.configFile,
      logDir: path.resolve(logDir),
      keep: cli.keep,
      progress: (l) => process.stderr.write(`${l}\n`),
    });
    if (cli.format === "json") {
      const { session: _s, ...doc } = r;
      process.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
    } else process.stdout.write(`${textReport(r)}\n`);
    if (!r.ok) process.stderr.write(`twin: logs of every component are under ${logDir}/\n`);
    if (r.session) {
      const kc = r.session.cluster.kubeconfig("deployer");
      process.stderr.write(
        `twin: kept running; inspect with: ${r.session.cluster.kubectl} --kubeconfig ${kc} get pods -A -o wide\n` +
          "twin: press Ctrl-C to stop every process\n",
      );
      await new Promise(() => undefined);
    }
    return r.ok ? 0 : 1;
  } catch (e) {
    if (e instanceof TwinInputError || e instanceof TwinSetupError) {
      process.stderr.write(`twin: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
}

if (require.main === module) {
  main().then(
    (code) => process.stdout.write("", () => process.exit(code)),
    (e: Error) => {
      process.stderr.write(`twin: internal error: ${e.stack ?? e.message}\n`);
      process.exit(2);
    },
  );
}
