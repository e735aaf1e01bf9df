/**
 * Reads a stack file (Pulumi.<stack>.yaml format) into the flat config map the Pulumi runtime uses,
 * for running the program without the CLI. Secret values cannot be decrypted here: they come from
 * the environment (AUDITFLOW_SECRET_<KEY>) when set, otherwise from a clearly marked placeholder.
 */
import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";
import { secretsNeeded } from "../../infra/schema";

export const PROJECT = "auditflow-platform";

/** Placeholders in the format a secret must have, so that validation passes without the real value. */
const PLACEHOLDERS: Record<string, string> = {
  // Not a usable key: a valid-looking age identity made of one repeated character.
  backupVerifyIdentity: `AGE-SECRET-KEY-1${"Q".repeat(58)}`,
  // A well-formed URL on a reserved name (RFC 2606) that reaches nothing.
  alertmanagerSlackApiUrl: "https://placeholder.invalid/slack-webhook-not-a-real-secret",
};

export interface LoadedStackConfig {
  /** "project:key" -> string (structured values as JSON), what `pulumi.runtime.setAllConfig` takes. */
  config: Record<string, string>;
  /** Keys of `config` that are secret. */
  secretKeys: string[];
  /** Secrets given a placeholder because neither the file nor the environment had a value. */
  placeholders: { key: string; envVar: string }[];
  /** Secrets taken from the environment. */
  fromEnv: { key: string; envVar: string }[];
}

/** AUDITFLOW_SECRET_SSH_PRIVATE_KEY for sshPrivateKey. */
export function secretEnvVar(key: string): string {
  return `AUDITFLOW_SECRET_${key.replace(/([a-z0-9])([A-Z])/g, "$1_$2").toUpperCase()}`;
}

/** The stack file of a stack in this repository. */
export function stackFile(stack: string): string {
  return path.resolve(__dirname, "../..", `Pulumi.${stack}.yaml`);
}

/** Error for an unreadable config file: the message names the file. */
export class StackFileError extends Error {}

export function loadStackFile(
  file: string,
  env: NodeJS.ProcessEnv = process.env,
): LoadedStackConfig {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (e) {
    throw new StackFileError(`cannot read config file ${file}: ${(e as Error).message}`);
  }
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (e) {
    throw new StackFileError(`config file ${file} is not valid YAML: ${(e as Error).message}`);
  }
  const entries = (doc as { config?: unknown } | null)?.config;
  if (typeof entries !== "object" || entries === null || Array.isArray(entries)) {
    throw new StackFileError(
      `config file ${file} has no "config:" map (expected the Pulumi.<stack>.yaml format)`,
    );
  }

  const result: LoadedStackConfig = { config: {}, secretKeys: [], placeholders: [], fromEnv: [] };
  const setSecret = (fullKey: string) => {
    const key = fullKey.slice(PROJECT.length + 1);
    const envVar = secretEnvVar(key);
    const fromEnv = env[envVar];
    if (fromEnv !== undefined && fromEnv !== "") {
      result.config[fullKey] = fromEnv;
      result.fromEnv.push({ key, envVar });
    } else {
      result.config[fullKey] = PLACEHOLDERS[key] ?? `placeholder-for-${key}-not-a-real-secret`;
      result.placeholders.push({ key, envVar });
    }
    result.secretKeys.push(fullKey);
  };

  for (const [rawKey, value] of Object.entries(entries as Record<string, unknown>)) {
    // Keys without a namespace belong to the project, as in Pulumi.
    const fullKey = rawKey.includes(":") ? rawKey : `${PROJECT}:${rawKey}`;
    if (typeof value === "object" && value !== null && "secure" in value) {
      setSecret(fullKey);
    } else {
      result.config[fullKey] = typeof value === "string" ? value : JSON.stringify(value);
    }
  }
  // Secrets this configuration needs that are not in the file (they are set with `pulumi config set
  // --secret` on each machine and never committed).
  const raw: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(result.config)) {
    if (!k.startsWith(`${PROJECT}:`)) continue;
    try {
      raw[k.slice(PROJECT.length + 1)] = JSON.parse(v);
    } catch {
      raw[k.slice(PROJECT.length + 1)] = v;
    }
  }
  for (const key of secretsNeeded(raw)) {
    const fullKey = `${PROJECT}:${key}`;
    if (!(fullKey in result.config)) setSecret(fullKey);
  }
  return result;
}
