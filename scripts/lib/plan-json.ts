/** Runs the offline plan (scripts/plan.ts) of a stack in a child process, as JSON. */
import { spawnSync, SpawnSyncReturns } from "child_process";
import * as path from "path";

const root = path.resolve(__dirname, "../..");

/**
 * `plan.ts --stack <stack> --out <out> --format json [extra...]` with this process's Node and loader
 * (tsx), in the project root. The caller reads the JSON document on stdout and the exit code.
 */
export function planJson(
  stack: string,
  out: string,
  extra: string[] = [],
): SpawnSyncReturns<string> {
  return spawnSync(
    process.execPath,
    [
      ...process.execArgv,
      path.join(root, "scripts/plan.ts"),
      "--stack",
      stack,
      "--out",
      out,
      "--format",
      "json",
      ...extra,
    ],
    { encoding: "utf8", maxBuffer: 512 * 2 ** 20, cwd: root },
  );
}
