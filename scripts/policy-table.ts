/**
 * Prints the README's policy table from the pack itself: every policy with its theme, what it
 * checks, its level per stack, and the equivalent Polaris / kube-linter / kube-score checks.
 *
 *   npm run --silent docs:policies
 */
import { loadPackConfig, stackConfigFile } from "../policy/engine/evaluate";
import { policies, registry } from "../policy/policies";

const STACKS = ["dev", "staging", "prod"];
const configs = STACKS.map((s) => loadPackConfig(stackConfigFile(s)));

function level(cfg: ReturnType<typeof loadPackConfig>, name: string): string {
  const pick = (v: unknown) =>
    typeof v === "string" ? v : (v as { enforcementLevel?: string } | undefined)?.enforcementLevel;
  return pick(cfg[name]) ?? pick(cfg.all) ?? "advisory";
}

const rows = policies.map((p) => {
  const m = registry.get(p.name)!;
  const eq = [
    ...(m.equivalents.polaris ?? []).map((x) => `Polaris \`${x}\``),
    ...(m.equivalents.kubeLinter ?? []).map((x) => `kube-linter \`${x}\``),
    ...(m.equivalents.kubeScore ?? []).map((x) => `kube-score \`${x}\``),
  ];
  const levels = configs.map((c) => level(c, p.name)).join(" / ");
  return `| \`${p.name}\` | ${m.theme}${m.stack ? " (stack)" : ""} | ${m.description.replace(/\|/g, "\\|")} | ${levels} | ${eq.join(", ") || "—"} |`;
});
console.log("| Policy | Theme | What it checks | dev / staging / prod | Equivalent checks |");
console.log("| --- | --- | --- | --- | --- |");
for (const r of rows) console.log(r);
