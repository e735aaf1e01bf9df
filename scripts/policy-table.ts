/**
 * Prints the README's policy table from the pack itself: every policy with its theme, severity,
 * what it checks and why (with a link), its level per stack, and the equivalent Polaris /
 * kube-linter / kube-score checks.
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
  const cell = (t: string) => t.replace(/\|/g, "\\|");
  return `| \`${p.name}\` | ${m.theme}${m.stack ? " (stack)" : ""} | ${m.severity} | ${cell(m.description)} | ${cell(m.rationale)} ([more](${m.link})) | ${levels} | ${eq.join(", ") || "—"} |`;
});
console.log(
  "| Policy | Theme | Severity | What it checks | Why | dev / staging / prod | Equivalent checks |",
);
console.log("| --- | --- | --- | --- | --- | --- | --- |");
for (const r of rows) console.log(r);
