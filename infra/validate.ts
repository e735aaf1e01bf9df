/**
 * Validation of a stack's configuration: the shapes (`schema.ts`), the rules that span keys
 * (`schema-rules.ts`) and messages that name each key (`schema-messages.ts`).
 *
 * `validateConfig` is pure (no Pulumi runtime) so tests and tools can check a stack file directly;
 * `infra/config.ts` is the only place that reads Pulumi config and calls it.
 */
import { configSchema, type PlatformConfig } from "./schema";
import { crossFieldRules } from "./schema-rules";
import { imageRules } from "./images-config";
import { describe, keyOf, type ConfigProblem } from "./schema-messages";

export type { ConfigProblem };

/** The result of validating a stack's configuration: the typed, frozen config or every problem. */
export type ValidationResult =
  { ok: true; config: Readonly<PlatformConfig> } | { ok: false; problems: ConfigProblem[] };

/**
 * Validates raw stack configuration values (key without the project prefix -> parsed value) and
 * returns either the frozen config or ALL problems, each naming the key, the bad value (never for
 * secrets) and what is allowed.
 */
export function validateConfig(raw: Record<string, unknown>, project: string): ValidationResult {
  const result = configSchema.safeParse(raw, { reportInput: true });
  const problems = result.success ? [] : result.error.issues.flatMap((i) => describe(i, project));
  const issue = (path: (string | number)[], message: string) =>
    problems.push({ key: keyOf(path, project), message });
  crossFieldRules(raw, issue);
  imageRules(raw, issue);
  if (result.success && problems.length === 0) return { ok: true, config: deepFreeze(result.data) };
  problems.sort((a, b) => a.key.localeCompare(b.key));
  return { ok: false, problems };
}

function deepFreeze<T>(o: T): Readonly<T> {
  if (o && typeof o === "object") {
    Object.values(o).forEach((v) => deepFreeze(v));
    Object.freeze(o);
  }
  return o;
}
