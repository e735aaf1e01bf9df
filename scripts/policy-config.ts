/**
 * Generates each stack's policy pack config (policy/config/<stack>.json, what
 * `--policy-pack-config` takes) from two sources, so that no stack fact is written twice:
 *
 * - policy/config/enforcement/<stack>.json: the enforcement choices (levels, remediation,
 *   reserved capacity per node, allowed registries, replica minimums), written by hand;
 * - Pulumi.<stack>.yaml: the stack facts the pack needs, i.e. the nodes with their architecture
 *   and capacity (stack-capacity-fits.nodes) and the architectures images must support
 *   (image-architectures.architectures).
 *
 *   npm run policy:config            rewrite policy/config/<stack>.json for every stack
 *   npm run policy:config -- --check exit 1 (naming the files) when a committed file is stale
 */
import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";

export const STACKS = ["dev", "staging", "prod"] as const;
const ROOT = path.resolve(__dirname, "..");

interface StackNode {
  name: string;
  arch: string;
  cpu: number;
  memory: string;
  role: string;
}

/** The cluster nodes Pulumi.<stack>.yaml declares. */
export function stackNodes(stack: string, root = ROOT): StackNode[] {
  const file = path.join(root, `Pulumi.${stack}.yaml`);
  const doc = parse(fs.readFileSync(file, "utf8")) as {
    config?: Record<string, { nodes?: StackNode[] }>;
  };
  const nodes = doc.config?.["auditflow-platform:cluster"]?.nodes;
  if (!Array.isArray(nodes) || nodes.length === 0)
    throw new Error(`${file}: auditflow-platform:cluster.nodes is missing or empty`);
  return nodes.map(({ name, arch, cpu, memory, role }) => ({ name, arch, cpu, memory, role }));
}

/** The pack config of a stack: its enforcement file with the stack's facts filled in. */
export function packConfigFor(stack: string, root = ROOT): Record<string, unknown> {
  const file = path.join(root, "policy/config/enforcement", `${stack}.json`);
  const config = JSON.parse(fs.readFileSync(file, "utf8")) as Record<string, unknown>;
  const entry = (name: string) => {
    const e = config[name];
    return typeof e === "object" && e !== null ? (e as Record<string, unknown>) : {};
  };
  const nodes = stackNodes(stack, root);
  config["stack-capacity-fits"] = { ...entry("stack-capacity-fits"), nodes };
  config["image-architectures"] = {
    ...entry("image-architectures"),
    architectures: [...new Set(nodes.map((n) => n.arch))],
  };
  return config;
}

/**
 * The text of policy/config/<stack>.json, laid out as the repository's Prettier lays out JSON:
 * objects one key per line, arrays of plain values on one line when it fits in 100 columns.
 */
export function packConfigText(stack: string, root = ROOT): string {
  const text = JSON.stringify(packConfigFor(stack, root), null, 2);
  const collapsed = text.replace(
    /^( *)(.*)\[\n((?: *(?:"[^"\n]*"|-?[\d.]+|true|false|null),?\n)+) *\]/gm,
    (all, indent: string, head: string, items: string) => {
      const line = `${indent}${head}[${items
        .split("\n")
        .map((i) => i.trim())
        .filter(Boolean)
        .join(" ")}]`;
      return line.length + 1 <= 100 ? line : all;
    },
  );
  return `${collapsed}\n`;
}

function main(): number {
  const check = process.argv.includes("--check");
  const stale: string[] = [];
  for (const stack of STACKS) {
    const file = path.join(ROOT, "policy/config", `${stack}.json`);
    const text = packConfigText(stack);
    const current = fs.existsSync(file) ? fs.readFileSync(file, "utf8") : "";
    if (current === text) continue;
    if (check) stale.push(path.relative(process.cwd(), file));
    else fs.writeFileSync(file, text);
  }
  if (stale.length) {
    process.stderr.write(
      `policy:config: ${stale.join(", ")} differ from the stack files; run npm run policy:config\n`,
    );
    return 1;
  }
  return 0;
}

if (require.main === module) process.exit(main());
