/**
 * The pack config as the Pulumi engine treats it before it calls the analyzer's Configure: parse
 * the `--policy-pack-config` file (a level string or an object per policy, `all` for every policy),
 * start from each policy's level (else the pack's) and its schema defaults, apply `all`, then each
 * policy's entry, and validate every policy's resulting properties against its config schema.
 * Every problem is reported at once, each naming the policy and the key.
 */
import * as fs from "fs";
import * as path from "path";
import { createHash } from "crypto";
import type { default as AjvClass, ErrorObject, ValidateFunction } from "ajv";
import type { EnforcementLevel, Policy } from "@pulumi/policy";

export type PackConfigObject = Record<
  string,
  EnforcementLevel | ({ enforcementLevel?: EnforcementLevel } & Record<string, unknown>)
>;

/** One policy's configuration after reconciliation: its level and its properties. */
export interface PolicyConfig {
  level: EnforcementLevel;
  props: Record<string, unknown>;
}

/** A pack config the engine would refuse; the message lists every problem. */
export class PackConfigError extends Error {}

export const LEVELS: EnforcementLevel[] = ["advisory", "mandatory", "remediate", "disabled"];

/**
 * The pack's directory: found from this module upwards, as the module may run from its source
 * (policy/engine/) or bundled into build/ by scripts/run-built.js.
 */
function packDir(): string {
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, "PulumiPolicy.yaml"))) return dir;
    if (fs.existsSync(path.join(dir, "policy", "PulumiPolicy.yaml")))
      return path.join(dir, "policy");
    if (path.dirname(dir) === dir)
      throw new Error(`no policy pack (PulumiPolicy.yaml) above ${__dirname}`);
  }
}

/** The pack config file of a stack in this repository. */
export function stackConfigFile(stack: string): string {
  return path.join(packDir(), "config", `${stack}.json`);
}

export function loadPackConfig(file: string): PackConfigObject {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (e) {
    throw new PackConfigError(`cannot read policy pack config ${file}: ${(e as Error).message}`, {
      cause: e,
    });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new PackConfigError(
      `policy pack config ${file} is not valid JSON: ${(e as Error).message}`,
      { cause: e },
    );
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed))
    throw new PackConfigError(`policy pack config ${file} must be a JSON object`);
  return parsed as PackConfigObject;
}

/** The level and properties an entry gives, checked as the engine parses the file. */
function parseEntry(
  key: string,
  value: unknown,
  problems: string[],
): { level?: EnforcementLevel; props: Record<string, unknown> } {
  const isLevel = (v: unknown): v is EnforcementLevel => LEVELS.includes(v as EnforcementLevel);
  if (typeof value === "string") {
    if (isLevel(value)) return { level: value, props: {} };
    problems.push(`${key}: "${value}" is not an enforcement level; allowed: ${LEVELS.join(", ")}`);
    return { props: {} };
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    problems.push(
      `${key}: must be an enforcement level or an object (got ${JSON.stringify(value)})`,
    );
    return { props: {} };
  }
  const { enforcementLevel, ...props } = value as Record<string, unknown>;
  if (enforcementLevel === undefined) return { props };
  if (isLevel(enforcementLevel)) return { level: enforcementLevel, props };
  problems.push(
    `${key}.enforcementLevel: ${JSON.stringify(enforcementLevel)} is not an enforcement level; allowed: ${LEVELS.join(", ")}`,
  );
  return { props };
}

function defaultsOf(policy: Policy): Record<string, unknown> {
  const schema = (policy.configSchema?.properties ?? {}) as Record<string, { default?: unknown }>;
  return Object.fromEntries(
    Object.entries(schema)
      .filter(([, s]) => s.default !== undefined)
      .map(([k, s]) => [k, structuredClone(s.default)]),
  );
}

let ajv: AjvClass | undefined;
/** Validators by schema text: most policies share one schema (`exempt` only), compiled once. */
const validators = new Map<string, ValidateFunction>();

/** The JSON schema the engine validates a policy's properties with. */
function schemaOf(policy: Policy): Record<string, unknown> {
  return {
    type: "object",
    properties: policy.configSchema?.properties ?? {},
    ...(policy.configSchema?.required?.length ? { required: policy.configSchema.required } : {}),
  };
}

function validatorOf(schema: Record<string, unknown>): ValidateFunction {
  const key = JSON.stringify(schema);
  let v = validators.get(key);
  if (!v) {
    // Loaded on first use: a command whose config was validated before never pays for it.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const Ajv = (require("ajv") as { default: typeof AjvClass }).default;
    ajv ??= new Ajv({ allErrors: true, strict: false });
    v = ajv.compile(schema);
    validators.set(key, v);
  }
  return v;
}

/**
 * Remembers configs found valid, by a hash of every policy's schema and properties: the same
 * input always validates the same way, so a command line tool run again need not load ajv.
 */
export interface ValidationCache {
  has(key: string): boolean;
  add(key: string): void;
}

/** A ValidationCache kept as empty files in a directory (created when needed). */
export function directoryCache(dir: string): ValidationCache {
  return {
    has: (key) => fs.existsSync(path.join(dir, key)),
    add: (key) => {
      try {
        fs.mkdirSync(dir, { recursive: true });
        fs.writeFileSync(path.join(dir, key), "");
      } catch {
        // A cache that cannot be written only costs time.
      }
    },
  };
}

/** `nodes[0].cpu` for the instance path `/nodes/0/cpu`. */
function keyOf(e: ErrorObject): string {
  const parts = e.instancePath.split("/").slice(1);
  if (e.keyword === "required") parts.push(String(e.params.missingProperty));
  return parts.map((p, i) => (/^\d+$/.test(p) ? `[${p}]` : i === 0 ? p : `.${p}`)).join("");
}

/**
 * Each policy's level and properties, as the engine would send them to Configure. Throws a
 * PackConfigError listing every problem (bad level, wrong type, missing required key).
 */
export function reconcileConfig(
  policies: Policy[],
  packLevel: EnforcementLevel,
  config: PackConfigObject,
  cache?: ValidationCache,
): Map<string, PolicyConfig> {
  const problems: string[] = [];
  const given = new Map(Object.entries(config).map(([k, v]) => [k, parseEntry(k, v, problems)]));
  const all = given.get("all")?.level;
  const result = new Map<string, PolicyConfig>();
  for (const p of policies) {
    const entry = given.get(p.name);
    const level = entry?.level ?? all ?? p.enforcementLevel ?? packLevel;
    result.set(p.name, { level, props: { ...defaultsOf(p), ...entry?.props } });
  }
  const hash = createHash("sha256");
  for (const p of policies)
    hash.update(JSON.stringify([p.name, schemaOf(p), result.get(p.name)!.props]));
  const key = hash.digest("hex");
  if (problems.length === 0 && cache?.has(key)) return result;
  for (const p of policies) {
    const validate = validatorOf(schemaOf(p));
    if (!validate(result.get(p.name)!.props)) {
      for (const e of validate.errors ?? []) problems.push(`${p.name}: ${keyOf(e)} ${e.message}`);
    }
  }
  if (problems.length > 0)
    throw new PackConfigError(`policy pack config is invalid:\n  ${problems.join("\n  ")}`);
  cache?.add(key);
  return result;
}
