/**
 * Runs the policy pack over plain Kubernetes manifests.
 *
 *   npm run policy:check -- [--stack <s>] [--policy-config FILE] [--format text|json|sarif|markdown] <files or dirs>
 *
 * Exit codes: 0 no mandatory violation; 1 mandatory violations; 2 unreadable input or bad usage.
 */
import * as path from "path";
import { parseArgs } from "util";
import { runPack, stackConfigFile } from "../policy/engine/evaluate";
import { FORMATS, formatReport, ReportFormat } from "../policy/engine/format";
import { ManifestError, readManifests } from "../policy/engine/manifests";

async function main(): Promise<number> {
  let values, positionals;
  try {
    ({ values, positionals } = parseArgs({
      args: process.argv.slice(2),
      options: {
        stack: { type: "string", default: "prod" },
        "policy-config": { type: "string" },
        format: { type: "string", default: "text" },
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
    const resources = readManifests(positionals);
    const report = await runPack(resources, {
      stack: values.stack,
      configFile: values["policy-config"] ?? stackConfigFile(values.stack!),
    });
    const fileOf = new Map(resources.map((r) => [r.urn, path.relative(process.cwd(), r.file)]));
    process.stdout.write(`${formatReport(report, format, (r) => fileOf.get(r.urn))}\n`);
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
