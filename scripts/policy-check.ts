/**
 * Runs the policy pack over plain Kubernetes manifests.
 *
 *   npm run policy:check -- [--stack <s>] [--policy-config FILE] [--format text|json|sarif|markdown] <files or dirs>
 *
 * Exit codes: 0 no mandatory violation; 1 mandatory violations; 2 unreadable input or bad usage.
 * `--timings` prints where the time went (start-up, reading YAML, policies, report) to stderr.
 *
 * `npm run policy:check` runs the compiled build/policy-check.js (scripts/run-built.js).
 */
import * as path from "path";
import { parseArgs } from "util";
import { directoryCache, runPack, stackConfigFile } from "../policy/engine/evaluate";
import { FORMATS, formatReport, ReportFormat } from "../policy/engine/format";
import { ManifestError, readManifests } from "../policy/engine/manifests";

const partOf = (props: Record<string, unknown>) =>
  (props.metadata as { labels?: Record<string, string> } | undefined)?.labels?.[
    "app.kubernetes.io/part-of"
  ];

async function main(): Promise<number> {
  let values, positionals;
  try {
    ({ values, positionals } = parseArgs({
      args: process.argv.slice(2),
      options: {
        stack: { type: "string", default: "prod" },
        "policy-config": { type: "string" },
        format: { type: "string", default: "text" },
        timings: { type: "boolean", default: false },
      },
      allowPositionals: true,
      strict: true,
    }));
  } catch (e) {
    process.stderr.write(`policy:check: ${(e as Error).message}\n`);
    return 2;
  }
  const format = values.format as ReportFormat;
  if (!FORMATS.includes(format)) {
    process.stderr.write(
      `policy:check: --format must be one of ${FORMATS.join(", ")} (got "${values.format}")\n`,
    );
    return 2;
  }
  if (positionals.length === 0) {
    process.stderr.write("policy:check: give the manifest files or directories to check\n");
    return 2;
  }
  try {
    const t = [performance.now()];
    const resources = readManifests(positionals);
    t.push(performance.now());
    const report = await runPack(resources, {
      stack: values.stack,
      configFile: values["policy-config"] ?? stackConfigFile(values.stack!),
      validationCache: directoryCache(path.resolve(__dirname, "..", "build", ".validated-config")),
    });
    t.push(performance.now());
    const fileOf = new Map(resources.map((r) => [r.urn, path.relative(process.cwd(), r.file)]));
    // Objects labelled part-of auditflow are this project's; others get fixes without our helpers.
    const ours = new Set(
      resources.filter((r) => partOf(r.props) === "auditflow").map((r) => r.urn),
    );
    const text = formatReport(report, format, {
      artifact: (r) => fileOf.get(r.urn),
      ours: (r) => ours.has(r.urn),
    });
    process.stdout.write(`${text}\n`);
    t.push(performance.now());
    if (values.timings) {
      const ms = (a: number, b: number) => `${(b - a).toFixed(0)} ms`;
      process.stderr.write(
        `policy:check timings: start-up (process start to reading) ${t[0]!.toFixed(0)} ms, ` +
          `read YAML ${ms(t[0]!, t[1]!)} (${resources.length} objects), policies ${ms(t[1]!, t[2]!)}, report ${ms(t[2]!, t[3]!)}\n`,
      );
    }
    return report.summary.mandatory > 0 ? 1 : 0;
  } catch (e) {
    if (e instanceof ManifestError || /policy pack config/.test((e as Error).message)) {
      process.stderr.write(`policy:check: ${(e as Error).message}\n`);
      return 2;
    }
    throw e;
  }
}

main().then(
  (code) => process.exit(code),
  (e: Error) => {
    process.stderr.write(`policy:check: internal error: ${e.stack ?? e.message}\n`);
    process.exit(2);
  },
);
