/**
 * Runs resources through the real policy runtime as the engine does for a preview or update, and
 * through the offline evaluator, and puts both results in one comparable form.
 *
 * Per resource the engine calls Remediate (when some policy is at the remediate level), then
 * Analyze with the remediated properties; at the end AnalyzeStack with every resource's outputs.
 */
import type {
  PackConfigObject,
  PackReport,
  PlannedResource,
  RunOptions,
} from "../../policy/engine/evaluate";
import { runPack } from "../../policy/engine/evaluate";
import { PolicyRuntime, SIG_KEY, toWire, WireResource } from "./engine";

/** What a reviewer would see, reduced to comparable strings. */
export interface Outcome {
  /** `policy|level|severity|urn|message as the engine shows it`. */
  violations: string[];
  /** `policy|urn` of policies that could not judge (unknown values, not applicable). */
  notices: string[];
  /** `policy|urn` of remediations applied. */
  remediations: string[];
}

export interface RuntimeRun extends Outcome {
  /** The properties each remediated resource ends up with (wire form). */
  remediated: Map<string, Record<string, unknown>>;
}

const sorted = (xs: string[]) => [...xs].sort();

/** The engine's run of a preview or update through the real runtime. */
export async function throughRuntime(
  rt: PolicyRuntime,
  resources: PlannedResource[],
  config: PackConfigObject,
  secretPaths: Map<string, string[]> = new Map(),
): Promise<RuntimeRun> {
  const reconciled = await rt.configure(config);
  const remediating = [...reconciled.values()].some((c) => c.level === "remediate");
  const out: RuntimeRun = { violations: [], notices: [], remediations: [], remediated: new Map() };
  const wires: WireResource[] = resources.map((r) => toWire(r, secretPaths.get(r.urn)));
  for (const w of wires) {
    let props = w.props;
    if (remediating) {
      for (const rem of await rt.remediate(w)) {
        if (rem.diagnostic) out.notices.push(`${rem.policy}|${w.urn}`);
        if (rem.properties) {
          props = rem.properties;
          out.remediations.push(`${rem.policy}|${w.urn}`);
          out.remediated.set(w.urn, props);
        }
      }
    }
    for (const d of (await rt.analyze(w, props)).diagnostics) {
      if (d.message.startsWith("can't run policy")) out.notices.push(`${d.policy}|${d.urn}`);
      else out.violations.push(`${d.policy}|${d.enforcement}|${d.severity}|${d.urn}|${d.message}`);
    }
  }
  const stack = await rt.analyzeStack(wires);
  for (const d of stack.diagnostics) {
    if (d.message.startsWith("can't run policy")) out.notices.push(`${d.policy}|${d.urn}`);
    else out.violations.push(`${d.policy}|${d.enforcement}|${d.severity}|${d.urn}|${d.message}`);
  }
  for (const n of stack.notApplicable) out.notices.push(`${n.policy}|`);
  out.violations = sorted(out.violations);
  out.notices = sorted([...new Set(out.notices)]);
  out.remediations = sorted(out.remediations);
  return out;
}

/** The offline evaluator's report in the same form. */
export function outcomeOf(report: PackReport): Outcome {
  return {
    violations: sorted(
      report.violations.map(
        (v) =>
          `${v.policy}|${v.enforcement}|${v.severity ?? "unspecified"}|${v.resource.urn}|${v.description}${v.message ? `\n${v.message}` : ""}`,
      ),
    ),
    notices: sorted([
      ...new Set(
        report.notices
          .filter((n) => !n.message.startsWith("exemption names"))
          .map((n) => `${n.policy}|${n.resource.urn}`),
      ),
    ]),
    remediations: sorted(report.remediations.map((r) => `${r.policy}|${r.resource.urn}`)),
  };
}

export async function offline(resources: PlannedResource[], opts: RunOptions): Promise<Outcome> {
  return outcomeOf(await runPack(resources, opts));
}

/** Paths (`a.b[0]`) of every value in wire-form properties that is NOT wrapped as a secret. */
export function plainValues(v: unknown, at = ""): { path: string; value: unknown }[] {
  if (Array.isArray(v)) return v.flatMap((e, i) => plainValues(e, `${at}[${i}]`));
  if (typeof v === "object" && v !== null) {
    if (SIG_KEY in v) return [];
    return Object.entries(v).flatMap(([k, e]) => plainValues(e, at ? `${at}.${k}` : k));
  }
  return [{ path: at, value: v }];
}
