/**
 * Shell scripts that ship next to a component as real `.sh` files (linted by `scripts/shellcheck.sh`)
 * instead of TypeScript template strings.
 *
 * A script states its environment in its header, one variable a line:
 *
 *     #!/bin/sh
 *     # What the script does.
 *     #
 *     # Environment:
 *     #   PGHOST       required  the server's host
 *     #   OFFSITE_URL  optional  where the copy goes; no copy without it
 *
 * The component declares the same contract once, typed, when it loads the script:
 *
 *     const backup = loadShellScript(__dirname, "backup.sh", { PGHOST: "required", OFFSITE_URL: "optional" });
 *     backup.text;                                  // the file as it is on disk, for a ConfigMap or a command
 *     backup.containerEnv({ PGHOST: host });        // Kubernetes env, typed: a missing required or unknown name does not compile
 *     backup.environment({ PGHOST: host });         // the same as a plain record (e.g. @pulumi/command's `environment`)
 *
 * Loading fails (at program time, before any resource is created) when the header and the contract
 * disagree, or when the script reads an upper-case variable the header does not declare (lower-case
 * names are the script's own variables). Scripts are read with `readFileSync` when the program
 * runs, so the file on disk is exactly what ships.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";

/** Each environment variable a script reads: whether it must be set or may be left out. */
export type EnvContract = Readonly<Record<string, "required" | "optional">>;

/** Values for a contract: every required variable, any optional one, nothing else. */
export type EnvValues<C extends EnvContract, V> = {
  [K in keyof C as C[K] extends "required" ? K : never]: V;
} & {
  [K in keyof C as C[K] extends "optional" ? K : never]?: V;
};

/** A container environment value: a plain value, or one taken from a Secret, ConfigMap or field. */
export type ContainerEnvValue =
  pulumi.Input<string> | { valueFrom: pulumi.Input<k8s.types.input.core.v1.EnvVarSource> };

/** Upper-case variables a script may read without declaring them (set by the shell itself). */
const SHELL_VARIABLES = new Set(["HOME", "PATH", "PWD", "IFS", "OLDPWD", "PPID"]);

/** A loaded script: its name, its text and its environment contract. */
export class ShellScript<C extends EnvContract> {
  constructor(
    /** The file name, e.g. "backup.sh" (also its key in a ConfigMap). */
    readonly name: string,
    /** The script as it is on disk. */
    readonly text: string,
    /** The environment contract it was checked against. */
    readonly env: C,
  ) {}

  /**
   * The values as a record in the contract's order, optional ones left out when undefined. Throws,
   * naming the variable, on a name outside the contract or a missing required one (for callers that
   * build the values dynamically and so escape the type check).
   */
  environment<V>(values: EnvValues<C, V>): Record<string, V> {
    const given = values as Record<string, V | undefined>;
    for (const key of Object.keys(given))
      if (!(key in this.env))
        throw new Error(
          `${this.name}: ${key} is not in its environment contract (${Object.keys(this.env).join(", ")})`,
        );
    const out: Record<string, V> = {};
    for (const [key, need] of Object.entries(this.env)) {
      const value = given[key];
      if (value !== undefined) out[key] = value;
      else if (need === "required") throw new Error(`${this.name}: ${key} is required`);
    }
    return out;
  }

  /** The values as a container's `env`, in the contract's order. */
  containerEnv(values: EnvValues<C, ContainerEnvValue>): k8s.types.input.core.v1.EnvVar[] {
    return Object.entries(this.environment(values)).map(([name, v]) =>
      typeof v === "object" && v !== null && "valueFrom" in v
        ? { name, valueFrom: v.valueFrom }
        : { name, value: v },
    );
  }
}

/** The `# Environment:` block of a script's leading comment: name -> required/optional. */
export function parseEnvHeader(text: string): Map<string, "required" | "optional"> {
  const lines = text.split("\n");
  const declared = new Map<string, "required" | "optional">();
  const start = lines.findIndex((l) => /^#\s*Environment:\s*$/.test(l));
  if (start < 0) return declared;
  for (const line of lines.slice(start + 1)) {
    const m = /^#\s+([A-Z][A-Z0-9_]*)\s+(required|optional)\b/.exec(line);
    if (!m) break;
    declared.set(m[1]!, m[2] as "required" | "optional");
  }
  return declared;
}

/** Upper-case variables the script expands (`$NAME`, `${NAME...}`) and does not assign itself. */
export function variablesRead(text: string): Set<string> {
  const body = text
    .split("\n")
    .filter((l) => !/^\s*#/.test(l))
    .join("\n");
  const assigned = new Set(
    [...body.matchAll(/(?:^|[\s;(])([A-Z][A-Z0-9_]*)=/gm)].map((m) => m[1]!),
  );
  const read = new Set<string>();
  for (const m of body.matchAll(/\$\{?([A-Z][A-Z0-9_]*)/g))
    if (!assigned.has(m[1]!) && !SHELL_VARIABLES.has(m[1]!)) read.add(m[1]!);
  return read;
}

/**
 * Loads `dir/file` and checks it against `env`: the header's `# Environment:` block must list
 * exactly the contract's variables with the same required/optional, and every upper-case variable
 * the script reads must be declared. Throws an Error naming the file and each difference.
 */
export function loadShellScript<const C extends EnvContract>(
  dir: string,
  file: string,
  env: C,
): ShellScript<C> {
  const text = readFileSync(join(dir, file), "utf8");
  const header = parseEnvHeader(text);
  const problems: string[] = [];
  for (const [name, need] of Object.entries(env)) {
    const inHeader = header.get(name);
    if (!inHeader) problems.push(`${name} (${need}) is in the contract but not in the header`);
    else if (inHeader !== need)
      problems.push(`${name} is ${inHeader} in the header but ${need} in the contract`);
  }
  for (const name of header.keys())
    if (!(name in env)) problems.push(`${name} is in the header but not in the contract`);
  for (const name of variablesRead(text))
    if (!header.has(name))
      problems.push(`the script reads ${name}, which the header does not declare`);
  if (problems.length > 0)
    throw new Error(`${file}: its "# Environment:" header disagrees: ${problems.join("; ")}`);
  return new ShellScript(file, text, env);
}
