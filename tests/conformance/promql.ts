/** Prometheus' own PromQL parser (tools/promql-check, built by scripts/install-monitoring-tools.sh). */
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";

/** The directory of the binaries scripts/install-monitoring-tools.sh builds. */
export const monitoringBin = execFileSync(
  "bash",
  ["scripts/install-monitoring-tools.sh", "--bin-dir"],
  {
    encoding: "utf8",
  },
).trim();

/** A binary scripts/install-monitoring-tools.sh builds; fails when it has not been run. */
export function monitoringTool(name: "prometheus" | "promtool" | "promql-check"): string {
  const file = path.join(monitoringBin, name);
  if (!fs.existsSync(file))
    throw new Error(`${file} is missing: run scripts/install-monitoring-tools.sh`);
  return file;
}

/** Parses PromQL with Prometheus' parser: per expression, the error or the metric names used. */
export function parsePromQL(
  exprs: string[],
): { expr: string; error?: string; metrics: string[] }[] {
  const r = spawnSync(monitoringTool("promql-check"), [], {
    input: JSON.stringify(exprs),
    encoding: "utf8",
  });
  if (r.status !== 0) throw new Error(`promql-check failed: ${r.stderr}`);
  return JSON.parse(r.stdout);
}
