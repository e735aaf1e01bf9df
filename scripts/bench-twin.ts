/**
 * Benchmark of the cluster twin: for dev and prod, the time from no process running to every
 * rollout complete (control plane start, nodes, apply, rollouts; binaries cached), the peak
 * resident memory of the whole control plane (etcd, kube-apiserver, kube-controller-manager,
 * kube-scheduler, kwok), and the build cache: its size and the cold build time of each binary.
 *
 *   npm run bench:twin [-- --cold]
 *
 * --cold first rebuilds every binary into an empty cache and an empty Go build cache (the module
 * downloads stay cached) and prints that time. Without it the cold figures are the ones
 * scripts/twin/build.sh recorded when it filled the cache on this machine.
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parseArgs } from "util";
import { buildBinaries } from "./twin/lib/cluster";
import { runTwin } from "./twin/lib/twin";

const GOALS: Record<string, number> = { dev: 30, prod: 60 };
const MEMORY_GOAL = 1.5 * 2 ** 30;

function duBytes(dir: string): number {
  return Number(execFileSync("du", ["-sb", dir], { encoding: "utf8" }).split("\t")[0]);
}

function recordedBuild(dirs: string[]): { total: number; lines: string[] } {
  let total = 0;
  const lines: string[] = [];
  for (const d of dirs) {
    const f = path.join(d, "build-seconds.txt");
    if (!fs.existsSync(f)) continue;
    for (const line of fs.readFileSync(f, "utf8").trim().split("\n")) {
      const [name, secs] = line.split(" ");
      total += Number(secs);
      lines.push(`${name} ${secs}s`);
    }
  }
  return { total, lines };
}

async function main() {
  const { values } = parseArgs({ options: { cold: { type: "boolean", default: false } } });
  if (values.cold) {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "twin-cold-"));
    const t0 = Date.now();
    execFileSync("bash", [path.resolve(__dirname, "twin/build.sh")], {
      env: { ...process.env, XDG_CACHE_HOME: tmp, GOCACHE: path.join(tmp, "go-build") },
      stdio: ["ignore", "inherit", "inherit"],
    });
    console.log(
      `cold build (empty cache and Go build cache): ${((Date.now() - t0) / 1000).toFixed(0)} s`,
    );
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  const bins = buildBinaries();
  const dirs = [bins.etcd, bins.kubernetes, bins.kwok];
  const rec = recordedBuild(dirs);
  const size = dirs.map(duBytes).reduce((a, b) => a + b, 0);
  console.log(`binaries: ${dirs.join(", ")}`);
  console.log(`cache size: ${(size / 2 ** 20).toFixed(0)} MiB`);
  if (rec.lines.length)
    console.log(
      `cold build recorded when the cache was filled: ${rec.total} s (${rec.lines.join(", ")})`,
    );
  console.log("");
  console.log(
    "stack   up from nothing   goal    ratio   peak control-plane memory (goal 1536 MiB)",
  );
  for (const stack of ["dev", "prod"]) {
    const r = await runTwin({ stack, logDir: path.resolve("out/twin", `bench-${stack}`) });
    if (!r.ok) throw new Error(`stack ${stack} did not come up: ${JSON.stringify(r.problems)}`);
    const secs = r.timings.upFromNothing! / 1000;
    const mib = r.peakMemory / 2 ** 20;
    const per = Object.entries(r.memoryByProcess)
      .map(([k, v]) => `${k} ${Math.round(v / 2 ** 20)}`)
      .join(", ");
    console.log(
      `${stack.padEnd(7)} ${`${secs.toFixed(1)} s`.padEnd(17)} ${`${GOALS[stack]} s`.padEnd(7)} ${(secs / GOALS[stack]!).toFixed(2).padEnd(7)} ${mib.toFixed(0)} MiB (${(r.peakMemory / MEMORY_GOAL).toFixed(2)} of goal; ${per})`,
    );
    console.log(
      `        control plane ${(r.timings.controlPlane! / 1000).toFixed(1)} s, apply ${(r.timings.apply! / 1000).toFixed(1)} s (${r.objects} objects), rollouts ${(r.timings.rollouts! / 1000).toFixed(1)} s; offline render before it ${(r.timings.render! / 1000).toFixed(1)} s`,
    );
  }
}

main().catch((e: Error) => {
  console.error(e.stack ?? e.message);
  process.exit(1);
});
