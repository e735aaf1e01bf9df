/**
 * Offline plan: runs the real program for a stack under Pulumi's mock runtime, prints what it would
 * create (a tree like `pulumi preview`, or JSON), and writes every Kubernetes object as YAML.
 *
 *   npm run plan -- --stack <dev|staging|prod> [--config-file PATH] [--out DIR] [--format text|json]
 *                   [--preview] [--policy-config FILE | --no-policy]
 *
 * The policy pack runs over the plan with the stack's pack config (policy/config/<stack>.json).
 *
 * Exit codes: 0 success; 2 configuration or program error; 1 mandatory policy violations.
 */
import * as fs from "fs";
import * as path from "path";
import { parseArgs } from "util";
import * as pulumi from "@pulumi/pulumi";
import { stringify } from "yaml";
import { RecordedResource, redactSecrets, runProgram, SIG_KEY } from "./lib/mock-run";
import { SECRET_MARKER, UNKNOWN_MARKER } from "../shared/markers";
import { loadStackFile, LoadedStackConfig, stackFile, StackFileError } from "./lib/stack-config";
import { PackReport, PlannedResource, runPack, stackConfigFile } from "../policy/engine/evaluate";
import { formatReport } from "../policy/engine/format";
import { bytes, cpuMillis } from "../components/lib/quantity";
import type { K8sObject } from "../policy/lib/k8s";

interface PlanArgs {
  stack: string;
  configFile: string;
  out: string;
  format: "text" | "json";
  preview: boolean;
  /** Pack config for the policy pack; undefined when --no-policy. */
  policyConfig?: string;
}

class UsageError extends Error {}

function parseCli(argv: string[]): PlanArgs {
  try {
    return checkCli(argv);
  } catch (e) {
    // parseArgs's own errors (an unknown option, a missing value) are usage errors too.
    throw e instanceof UsageError ? e : new UsageError((e as Error).message);
  }
}

function checkCli(argv: string[]): PlanArgs {
  const { values } = parseArgs({
    args: argv,
    options: {
      stack: { type: "string" },
      "config-file": { type: "string" },
      out: { type: "string" },
      format: { type: "string", default: "text" },
      preview: { type: "boolean", default: false },
      "policy-config": { type: "string" },
      "no-policy": { type: "boolean", default: false },
    },
    strict: true,
  });
  const stack = values.stack;
  if (!stack) throw new UsageError("--stack is required (dev, staging or prod)");
  if (!/^[A-Za-z0-9_.-]+$/.test(stack))
    throw new UsageError(`--stack "${stack}" is not a valid stack name`);
  const format = values.format;
  if (format !== "text" && format !== "json") {
    throw new UsageError(`--format must be text or json (got "${format}")`);
  }
  return {
    stack,
    configFile: values["config-file"] ?? stackFile(stack),
    out: values.out ?? path.join("out", stack),
    format,
    preview: values.preview,
    policyConfig: values["no-policy"]
      ? undefined
      : (values["policy-config"] ?? packConfigFor(stack)),
  };
}

/** The stack's pack config: policy/config/<stack>.json, or prod's (strictest) for other stacks. */
function packConfigFor(stack: string): string {
  const own = stackConfigFile(stack);
  return fs.existsSync(own) ? own : stackConfigFile("prod");
}

/**
 * What the policy pack sees of a recorded resource: Kubernetes objects with their final names
 * (the provider's check adds the auto-name to the inputs the engine analyzes). Stack policies see
 * the outputs: while the Kubernetes provider's configuration is unknown (a preview before the
 * cluster exists: the kubeconfig comes from the K3s install), the engine has none for Kubernetes
 * objects, and `providerUnknown` gives them empty outputs as the engine does.
 */
function plannedOf(r: RecordedResource, providerUnknown: boolean): PlannedResource {
  const isK8s = r.custom && r.type.startsWith("kubernetes:");
  return {
    urn: r.urn,
    type: r.type,
    name: r.name,
    parent: r.parent,
    props: isK8s ? r.state : r.inputs,
    outputs: isK8s && providerUnknown ? {} : undefined,
  };
}

/** A recorded resource as the pack sees it once its provider is configured. */
export function toPlanned(r: RecordedResource): PlannedResource {
  return plannedOf(r, false);
}

/** Every recorded resource as the pack sees it (see plannedOf). */
export function plannedResources(recorded: RecordedResource[]): PlannedResource[] {
  const providerUnknown = recorded.some(
    (r) =>
      r.type === "pulumi:providers:kubernetes" && JSON.stringify(r.inputs).includes(UNKNOWN_MARKER),
  );
  return recorded.map((r) => plannedOf(r, providerUnknown));
}

/** A Kubernetes manifest for a recorded resource, or undefined for anything that is not one. */
export function manifestOf(r: RecordedResource): Record<string, unknown> | undefined {
  if (!r.custom || !r.type.startsWith("kubernetes:") || r.type.startsWith("pulumi:providers"))
    return undefined;
  const [, groupVersion, kind] = r.type.split(":");
  if (!groupVersion || !kind) return undefined;
  const apiVersion = groupVersion.startsWith("core/") ? groupVersion.slice(5) : groupVersion;
  const state = r.state as Record<string, unknown>;
  const {
    apiVersion: _a,
    kind: _k,
    metadata,
    ...rest
  } = unwrapAll(state) as Record<string, unknown>;
  return { apiVersion, kind, metadata, ...rest };
}

function unwrapAll(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(unwrapAll);
  if (typeof v === "object" && v !== null) {
    const o = v as Record<string, unknown>;
    if (SIG_KEY in o) return unwrapAll(o.value);
    return Object.fromEntries(Object.entries(o).map(([k, e]) => [k, unwrapAll(e)]));
  }
  return v;
}

function fileNameOf(m: Record<string, unknown>): string {
  const meta = (m.metadata ?? {}) as { name?: string; namespace?: string };
  const dir = meta.namespace ?? "_cluster";
  return path.join(dir, `${String(m.kind).toLowerCase()}-${meta.name ?? "unnamed"}.yaml`);
}

/** Writes one YAML file per Kubernetes object; returns the files holding Secret data. */
function writeManifests(
  resources: RecordedResource[],
  outDir: string,
): { count: number; secretFiles: string[] } {
  fs.rmSync(outDir, { recursive: true, force: true });
  const secretFiles: string[] = [];
  let count = 0;
  for (const r of resources) {
    const m = manifestOf(r);
    if (!m) continue;
    const file = path.join(outDir, fileNameOf(m));
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, stringify(m, { lineWidth: 0 }), {
      mode: m.kind === "Secret" ? 0o600 : 0o644,
    });
    if (m.kind === "Secret") secretFiles.push(file);
    count++;
  }
  return { count, secretFiles };
}

/**
 * Requests and limits per namespace: replicas times the containers of each pod template, a
 * DaemonSet's pod once per node (`nodes`, the stack's node count).
 */
export function sizing(
  resources: RecordedResource[],
  nodes = 1,
): Map<string, { cpu: [number, number]; mem: [number, number] }> {
  const totals = new Map<string, { cpu: [number, number]; mem: [number, number] }>();
  for (const r of resources) {
    const m = manifestOf(r) as K8sObject | undefined;
    if (!m || !["Deployment", "StatefulSet", "Job", "DaemonSet"].includes(String(m.kind))) continue;
    const pod = m.spec?.template?.spec ?? {};
    const replicas =
      m.kind === "Job" ? 1 : m.kind === "DaemonSet" ? nodes : Number(m.spec?.replicas ?? 1);
    const t = totals.get(m.metadata?.namespace) ?? { cpu: [0, 0], mem: [0, 0] };
    for (const c of (pod.containers ?? []) as K8sObject[]) {
      t.cpu[0] += replicas * cpuMillis(c.resources?.requests?.cpu ?? "0");
      t.cpu[1] += replicas * cpuMillis(c.resources?.limits?.cpu ?? "0");
      t.mem[0] += replicas * bytes(c.resources?.requests?.memory ?? "0");
      t.mem[1] += replicas * bytes(c.resources?.limits?.memory ?? "0");
    }
    totals.set(m.metadata?.namespace, t);
  }
  return totals;
}

/** The resource tree, like `pulumi preview` prints it. */
function tree(resources: RecordedResource[]): string[] {
  const children = new Map<string | undefined, RecordedResource[]>();
  for (const r of resources) {
    const list = children.get(r.parent) ?? [];
    list.push(r);
    children.set(r.parent, list);
  }
  const urns = new Set(resources.map((r) => r.urn));
  const roots = resources.filter((r) => !r.parent || !urns.has(r.parent));
  const width = Math.max(...resources.map((r) => r.type.length)) + 8;
  const lines: string[] = [];
  const walk = (r: RecordedResource, prefix: string, last: boolean, depth: number) => {
    const branch = depth === 0 ? "" : `${prefix}${last ? "└─ " : "├─ "}`;
    lines.push(` +   ${(branch + r.type).padEnd(width)} ${r.name}`);
    const kids = children.get(r.urn) ?? [];
    const next = depth === 0 ? "" : `${prefix}${last ? "   " : "│  "}`;
    kids.forEach((k, i) => walk(k, next, i === kids.length - 1, depth + 1));
  };
  roots.forEach((r, i) => walk(r, "", i === roots.length - 1, 0));
  return lines;
}

function countByType(resources: RecordedResource[]): [string, number][] {
  const counts = new Map<string, number>();
  for (const r of resources) counts.set(r.type, (counts.get(r.type) ?? 0) + 1);
  return [...counts.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
}

/**
 * The images of the plan with their platforms: builds (digest unknown until built) and pulled
 * third-party images (whether the registry confirmed their platforms).
 */
export function imageLines(resources: RecordedResource[]): string[] {
  const list = (v: unknown) => (Array.isArray(v) ? v.join(", ") : String(v));
  return resources.flatMap((r) => {
    if (r.type === "docker-build:index:Image") {
      const tags = (r.inputs.tags ?? []) as string[];
      const repo = tags[0]?.replace(/:[^:/]+$/, "") ?? r.name;
      const tagNames = tags.map((t) => t.slice(repo.length + 1)).join(", ");
      return [
        `    build ${repo} for ${list(r.inputs.platforms)}: tags ${tagNames}; ${r.inputs.push ? "pushed" : "not pushed"}, digest unknown until built`,
      ];
    }
    if (r.type === "auditflow:images:PulledImage") {
      const how =
        r.inputs.checked === true
          ? r.inputs.reason
            ? String(r.inputs.reason)
            : "confirmed by the registry"
          : `not checked: ${String(r.inputs.reason ?? "unknown until apply")}`;
      return [`    pull  ${String(r.inputs.image)} for ${list(r.inputs.platforms)} (${how})`];
    }
    return [];
  });
}

function secretNotes(loaded: LoadedStackConfig): string[] {
  return [
    ...loaded.fromEnv.map((s) => `secret ${s.key}: taken from ${s.envVar}`),
    ...loaded.placeholders.map(
      (s) =>
        `secret ${s.key}: not available offline, a placeholder was used (set ${s.envVar} to use a real value)`,
    ),
  ];
}

/** A failure the user can act on: printed as "plan: <message>" without a stack trace, exit 2. */
class PlanError extends Error {}

/** The stack file, or a PlanError naming what is wrong with it. */
function loadConfig(configFile: string): LoadedStackConfig {
  try {
    return loadStackFile(configFile);
  } catch (e) {
    if (e instanceof StackFileError) throw new PlanError(e.message);
    throw e;
  }
}

/** Runs the program under the mock runtime; a program error becomes a PlanError. */
async function runStack(args: PlanArgs, loaded: LoadedStackConfig) {
  const started = process.hrtime.bigint();
  try {
    const result = await runProgram({
      stack: args.stack,
      config: loaded.config,
      secretKeys: loaded.secretKeys,
      preview: args.preview,
    });
    return { ...result, elapsedMs: Number(process.hrtime.bigint() - started) / 1e6 };
  } catch (e) {
    // Configuration problems (ConfigError is a RunError) are user errors: the message lists them,
    // a stack trace would not help.
    if (pulumi.RunError.isInstance(e))
      throw new PlanError(`stack ${args.stack} failed:\n${e.message}`);
    const err = e as Error;
    throw new PlanError(`stack ${args.stack} failed:\n${err.stack ?? err.message}`);
  }
}

/** The policy pack's report over the plan, or undefined with --no-policy. */
async function checkPolicies(
  args: PlanArgs,
  resources: RecordedResource[],
): Promise<PackReport | undefined> {
  if (!args.policyConfig) return undefined;
  try {
    return await runPack(plannedResources(resources), {
      stack: args.stack,
      configFile: args.policyConfig,
    });
  } catch (e) {
    throw new PlanError(`policy pack: ${(e as Error).message}`);
  }
}

/** Everything one run produced, for the two output formats. */
interface Planned {
  args: PlanArgs;
  loaded: LoadedStackConfig;
  resources: RecordedResource[];
  outputs: Record<string, unknown>;
  elapsedMs: number;
  manifests: number;
  report?: PackReport;
}

/** --format json: the machine-readable document, secret inputs shown as SECRET_MARKER. */
function jsonDocument(p: Planned): string {
  const doc = {
    stack: p.args.stack,
    configFile: p.args.configFile,
    preview: p.args.preview,
    summary: {
      resources: p.resources.length,
      byType: Object.fromEntries(countByType(p.resources)),
      manifests: p.manifests,
      outDir: p.args.out,
    },
    secrets: { placeholders: p.loaded.placeholders, fromEnvironment: p.loaded.fromEnv },
    resources: p.resources.map((r) => ({
      urn: r.urn,
      type: r.type,
      name: r.name,
      parent: r.parent,
      custom: r.custom,
      inputs: redactPaths(r.inputs, r.secretPaths),
    })),
    outputs: p.outputs,
    policy: p.report,
  };
  return `${JSON.stringify(doc, null, 2)}\n`;
}

/** --format text: the tree, counts, outputs, sizing, notes and the pack's report. */
function textReport(p: Planned): string {
  const { args, resources } = p;
  const out: string[] = [];
  out.push(
    `Plan of stack ${args.stack} (offline: Pulumi mock runtime${args.preview ? ", preview mode" : ""})`,
  );
  out.push(`Config: ${path.relative(process.cwd(), args.configFile) || args.configFile}`);
  out.push("");
  out.push(`     ${"Type".padEnd(60)} Name`);
  out.push(...tree(resources));
  out.push("");
  out.push(`Resources: ${resources.length} to create`);
  for (const [type, n] of countByType(resources)) out.push(`    ${String(n).padStart(4)} ${type}`);
  out.push("");
  out.push("Outputs:");
  for (const [k, v] of Object.entries(p.outputs)) {
    out.push(`    ${k}: ${typeof v === "string" ? v : JSON.stringify(v)}`);
  }
  out.push("");
  out.push("Images (every one must hold every node architecture):");
  out.push(...imageLines(resources));
  out.push("");
  const clusterKey = Object.keys(p.loaded.config).find((k) => k.endsWith(":cluster"));
  const nodeCount =
    (JSON.parse(clusterKey ? p.loaded.config[clusterKey]! : "{}") as { nodes?: unknown[] }).nodes
      ?.length ?? 1;
  out.push(`Sizing (all replicas; Jobs count once; DaemonSets once per node, ${nodeCount}):`);
  for (const [ns, t] of sizing(resources, nodeCount)) {
    const mi = (b: number) => `${Math.round(b / 2 ** 20)}Mi`;
    out.push(
      `    ${ns.padEnd(16)} requests ${t.cpu[0]}m CPU, ${mi(t.mem[0])} memory; limits ${t.cpu[1]}m CPU, ${mi(t.mem[1])} memory`,
    );
  }
  out.push("");
  out.push(`Manifests: ${p.manifests} Kubernetes objects written under ${args.out}/`);
  for (const note of secretNotes(p.loaded)) out.push(`Note: ${note}`);
  out.push(`Planned in ${(p.elapsedMs / 1000).toFixed(2)}s`);
  if (p.report) out.push("", formatReport(p.report, "text"));
  else out.push("", "Policy pack: not run (--no-policy)");
  return `${out.join("\n")}\n`;
}

/** One plan: load, run, write the manifests, check, print; returns the exit code. */
async function plan(args: PlanArgs): Promise<number> {
  const loaded = loadConfig(args.configFile);
  const { resources, outputs, elapsedMs } = await runStack(args, loaded);
  const written = writeManifests(resources, args.out);
  const report = await checkPolicies(args, resources);
  const planned = { args, loaded, resources, outputs, elapsedMs, manifests: written.count, report };
  process.stdout.write(args.format === "json" ? jsonDocument(planned) : textReport(planned));
  if (written.secretFiles.length > 0) {
    process.stderr.write(
      `plan: warning: ${written.secretFiles.length} Secret manifest(s) under ${args.out}/ contain secret values in plain text ` +
        `(file mode 0600); do not commit or share ${args.out}/.\n`,
    );
  }
  if (report && report.summary.mandatory > 0) {
    process.stderr.write(
      `plan: ${report.summary.mandatory} mandatory policy violation(s); stack ${args.stack} must not be applied\n`,
    );
    return 1;
  }
  return 0;
}

async function main(): Promise<number> {
  try {
    return await plan(parseCli(process.argv.slice(2)));
  } catch (e) {
    if (e instanceof UsageError || e instanceof PlanError) {
      process.stderr.write(`plan: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
}

/** Inputs with the values at secret paths replaced by SECRET_MARKER. */
function redactPaths(inputs: Record<string, unknown>, secretPaths: string[]): unknown {
  if (secretPaths.length === 0) return inputs;
  const copy = JSON.parse(JSON.stringify(inputs)) as Record<string, unknown>;
  for (const p of secretPaths) {
    const parts = p.match(/[^.[\]]+/g) ?? [];
    let cur: Record<string, unknown> = copy;
    parts.forEach((part, i) => {
      if (i === parts.length - 1) cur[part] = SECRET_MARKER;
      else cur = (cur[part] ?? {}) as Record<string, unknown>;
    });
  }
  return redactSecrets(copy);
}

if (require.main === module) {
  main().then(
    // Exit only once stdout has drained: a piped reader would otherwise get a truncated document.
    (code) => process.stdout.write("", () => process.exit(code)),
    (e: Error) => {
      process.stderr.write(`plan: internal error: ${e.stack ?? e.message}\n`);
      process.exit(2);
    },
  );
}
