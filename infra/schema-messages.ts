/**
 * zod's issues translated into messages that name the full config key (`project:cluster.nodes[0].name`),
 * the value given (never for secrets) and what is allowed.
 */
import { z } from "zod";
import { SECRET_MARKER } from "../shared/markers";
import { configSchema, SECRET_KEYS } from "./schema";

/** One problem found in the configuration, addressed by its full config key path. */
export interface ConfigProblem {
  key: string;
  message: string;
}

/** What a missing top-level key is for and how to set it. */
const REQUIRED_HINTS: Record<string, string> = {
  backupVerifyIdentity:
    "the private age key of the backup verification job (pulumi config set --secret backupVerifyIdentity < verify-key.txt)",
};

/** How an expected type reads in a message ("number" is refined by expectedType). */
const typeNames: Record<string, string> = {
  int: "a whole number",
  number: "a number",
  object: "a map",
  array: "a list",
  string: "a string",
  boolean: "true or false",
};

/** `project:cluster.nodes[0].name` for the path ["cluster", "nodes", 0, "name"]. */
export function keyOf(path: PropertyKey[], project: string): string {
  const [top, ...rest] = path.map(String);
  const head = `${project}:${top ?? ""}`;
  return rest.reduce((acc, p) => (/^\d+$/.test(p) ? `${acc}[${p}]` : `${acc}.${p}`), head);
}

/** The problems one zod issue stands for (an unknown-keys issue lists one per key). */
export function describe(i: z.core.$ZodIssue, project: string): ConfigProblem[] {
  const secret = (SECRET_KEYS as readonly string[]).includes(String(i.path[0]));
  const shown = (v: unknown) => (secret ? SECRET_MARKER : JSON.stringify(v));
  switch (i.code) {
    case "unrecognized_keys": {
      const allowed = allowedKeys(i.path);
      return i.keys.map((k) => ({
        key: keyOf([...i.path, k], project),
        message: `is not a known setting${allowed ? `; allowed keys here are: ${allowed.join(", ")}` : ""}`,
      }));
    }
    case "invalid_value":
      return [
        {
          key: keyOf(i.path, project),
          message: `${i.input === undefined ? "is required and " : ""}must be one of ${i.values
            .map((v) => JSON.stringify(v))
            .join(", ")}${i.input === undefined ? "" : ` (got ${shown(i.input)})`}`,
        },
      ];
    case "invalid_type": {
      const expected = expectedType(i.expected, i.path);
      const hint = i.path.length === 1 ? REQUIRED_HINTS[String(i.path[0])] : undefined;
      if (i.input === undefined && hint)
        return [{ key: keyOf(i.path, project), message: `is required: ${hint}` }];
      return [
        {
          key: keyOf(i.path, project),
          message:
            i.input === undefined
              ? `is required (${expected})`
              : `must be ${expected} (got ${shown(i.input)})`,
        },
      ];
    }
    case "invalid_key":
      return [
        {
          key: keyOf(i.path, project),
          message: `is not an allowed key: ${i.issues.map((x) => x.message).join("; ")}`,
        },
      ];
    default: {
      const got =
        "input" in i && i.input !== undefined && typeof i.input !== "object"
          ? ` (got ${shown(i.input)})`
          : "";
      return [{ key: keyOf(i.path, project), message: `${i.message}${got}` }];
    }
  }
}

/**
 * What the schema expects at a path, for "must be ..." messages: a number field that takes only
 * integers reads "a whole number", a fractional one (e.g. memoryHighWatermark) "a number".
 */
function expectedType(expected: string, path: PropertyKey[]): string {
  const s = schemaAt(path);
  if (expected === "number" && s instanceof z.ZodNumber && s.isInt) return "a whole number";
  return typeNames[expected] ?? `a ${expected}`;
}

/** The keys the schema allows at a config path, for "unknown key" messages. */
function allowedKeys(path: PropertyKey[]): string[] | undefined {
  const s = schemaAt(path);
  return s instanceof z.ZodObject ? Object.keys(s.shape) : undefined;
}

/** The schema of the value at a config path (optional and default wrappers removed). */
function schemaAt(path: PropertyKey[]): z.ZodType | undefined {
  let s: z.ZodType = configSchema;
  for (const p of path) {
    s = unwrap(s);
    if (s instanceof z.ZodObject) s = s.shape[String(p)] as z.ZodType;
    else if (s instanceof z.ZodArray) s = s.element as z.ZodType;
    else return undefined;
    if (!s) return undefined;
  }
  return unwrap(s);
}

function unwrap(s: z.ZodType): z.ZodType {
  let cur: z.ZodType = s;
  for (;;) {
    if (cur instanceof z.ZodOptional || cur instanceof z.ZodDefault)
      cur = cur.unwrap() as z.ZodType;
    else if (cur instanceof z.ZodPipe) cur = cur.in as z.ZodType;
    else return cur;
  }
}
