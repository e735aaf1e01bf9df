/**
 * Returns one service of a stack to an image it ran before, through Pulumi (never behind its back):
 *
 *   npm run rollback -- --stack prod --service audit-log-analysis [--to 41] [--dry-run] [--yes]
 *                       [--config-file path/to/Pulumi.prod.yaml]
 *
 * 1. Reads the service's current image from the stack output `serviceImages` and the stack's update
 *    history (`pulumi stack history --json`).
 * 2. Finds the image to return to in the exported states of earlier succeeded updates (`pulumi stack
 *    export --version N`): the newest one that differs from the current image, or that of `--to N`.
 *    It must be pinned by digest.
 * 3. Writes it into the stack's config (`pulumi config set --path services[i].image`), so the stack
 *    file says what runs (commit it), and runs `pulumi up --target <the service's Deployment>` with
 *    the stack's policy pack: a rolling update (maxUnavailable 0) back to that image. The migration
 *    and pre-migration backup Jobs are not run; the README's rollback runbook says what that means
 *    for the database.
 *
 * Exit codes: 0 done (or planned with --dry-run), 2 bad arguments or nothing to return to, 1 a
 * pulumi command failed. PULUMI (environment) names the CLI; defaults to `pulumi` on PATH.
 */
import { spawnSync, SpawnSyncOptions } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";
import { SERVICE_NAMES } from "../components/apps/catalog";
import { ENVIRONMENTS } from "../infra/schema";
import {
  candidateVersions,
  chooseTarget,
  deploymentUrnOf,
  HistoryEntry,
  imagesOfExport,
  parseRollbackArgs,
} from "./lib/rollback";
import { PROJECT, stackFile } from "./lib/stack-config";

const ROOT = path.resolve(__dirname, "..");

class UsageError extends Error {}
class PulumiError extends Error {}

function pulumi(args: string[], opts: SpawnSyncOptions = {}): string {
  const cli = process.env.PULUMI ?? "pulumi";
  const r = spawnSync(cli, args, { cwd: ROOT, encoding: "utf8", ...opts });
  if (r.error) throw new PulumiError(`cannot run ${cli}: ${r.error.message}`);
  if (r.status !== 0) {
    const err = typeof r.stderr === "string" ? r.stderr.trim() : "";
    throw new PulumiError(
      `${cli} ${args.join(" ")} failed (exit ${r.status})${err ? `: ${err}` : ""}`,
    );
  }
  return typeof r.stdout === "string" ? r.stdout : "";
}

const json = (args: string[]): unknown => JSON.parse(pulumi(args));

/**
 * Index of the service in the stack file's services list (for `config set --path`), and whether
 * the entry builds its image (then the build key goes: a service has an image or a build).
 */
function serviceEntry(file: string, service: string): { index: number; built: boolean } {
  let doc: { config?: Record<string, { name: string; build?: unknown }[]> };
  try {
    doc = parse(fs.readFileSync(file, "utf8")) as typeof doc;
  } catch (e) {
    throw new UsageError(`cannot read the stack file ${file}: ${(e as Error).message}`);
  }
  const entries = doc?.config?.[`${PROJECT}:services`] ?? [];
  const index = entries.findIndex((s) => s.name === service);
  if (index < 0) throw new UsageError(`${file} has no services entry named ${service}`);
  return { index, built: entries[index]!.build !== undefined };
}

function main(argv: string[]): void {
  let args;
  try {
    args = parseRollbackArgs(argv, ENVIRONMENTS, SERVICE_NAMES);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const { stack, service } = args;
  const file = args.configFile ?? stackFile(stack);
  const { index, built } = serviceEntry(file, service);
  // The same stack file for every command that reads or changes the stack's config.
  const configFile = args.configFile === undefined ? [] : ["--config-file", args.configFile];
  const fileName = path.relative(ROOT, path.resolve(ROOT, file));
  const current = (
    json(["stack", "output", "--stack", stack, "--json", "serviceImages"]) as Record<
      string,
      { image: string }
    > | null
  )?.[service]?.image;
  if (!current) throw new UsageError(`stack ${stack} exports no image for ${service}`);
  const history = json(["stack", "history", "--stack", stack, "--json"]) as HistoryEntry[];
  let versions: number[];
  try {
    versions = candidateVersions(history, args.to);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  // Export one version at a time, newest first, and stop at the first that qualifies.
  let target: { version: number; image: string } | undefined;
  const seen: { version: number; images: ReturnType<typeof imagesOfExport> }[] = [];
  for (const version of versions) {
    const images = imagesOfExport(
      json(["stack", "export", "--stack", stack, "--version", String(version)]),
    );
    seen.push({ version, images });
    const image = images?.[service]?.image;
    if (args.to !== undefined || (image && image !== current)) break;
  }
  try {
    target = chooseTarget(service, current, seen, args.to !== undefined);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const urn = deploymentUrnOf(json(["stack", "export", "--stack", stack]), service);
  if (!urn) throw new UsageError(`stack ${stack} has no Deployment for ${service}`);

  console.log(`rollback of ${service} in stack ${stack}:`);
  console.log(`  now:     ${current}`);
  console.log(`  back to: ${target.image} (ran in stack version ${target.version})`);
  console.log(`  target:  ${urn}`);
  if (args.dryRun) {
    console.log("dry run: config and cluster unchanged");
    return;
  }
  const quiet: SpawnSyncOptions = { stdio: ["ignore", "pipe", "pipe"] };
  if (built) {
    pulumi(
      ["config", "rm", "--stack", stack, ...configFile, "--path", `services[${index}].build`],
      quiet,
    );
    console.log(`${fileName}: services[${index}].build removed (restore it to roll forward)`);
  }
  pulumi(
    [
      "config",
      "set",
      "--stack",
      stack,
      ...configFile,
      "--path",
      `services[${index}].image`,
      target.image,
    ],
    quiet,
  );
  console.log(`${fileName}: services[${index}].image = ${target.image} (commit this)`);
  pulumi(
    [
      "up",
      "--stack",
      stack,
      ...configFile,
      "--target",
      urn,
      "--policy-pack",
      "policy",
      "--policy-pack-config",
      `policy/config/${stack}.json`,
      ...(args.yes ? ["--yes"] : []),
    ],
    { stdio: "inherit" },
  );
  console.log(`${service} runs ${target.image} again`);
}

try {
  main(process.argv.slice(2));
} catch (e) {
  console.error(`rollback: ${(e as Error).message}`);
  process.exit(e instanceof PulumiError ? 1 : 2);
}
