/**
 * Lints and scans the platform's Dockerfiles and every stack's rendered manifests with the real
 * Trivy (its misconfiguration checks, built into ~/.cache/auditflow by scripts/install-go-tools.sh),
 * and lists Trivy's findings next to the policy pack's for each Kubernetes object.
 *
 *   npm run scan:images [-- --stack dev --stack prod] [--out DIR]
 *
 * Uses Trivy's built-in checks only (--skip-check-update: no download). Exit codes: 0 clean; 1 a
 * Dockerfile has a HIGH or CRITICAL finding, or a stack has a mandatory policy violation; 2 a tool
 * could not run. Trivy's manifest findings are reported, not gating: the pack is the gate, and the
 * report shows where the two disagree.
 */
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { parseArgs } from "util";
import { parse } from "yaml";
import { planJson } from "./lib/plan-json";

const root = path.resolve(__dirname, "..");

interface Finding {
  id: string;
  severity: string;
  title: string;
}
interface TrivyResult {
  Target: string;
  Misconfigurations?: { ID: string; Severity: string; Title: string; Status: string }[];
}

function trivyPath(): string {
  const p = execFileSync(
    "bash",
    [path.join(root, "scripts/install-go-tools.sh"), "--path", "trivy"],
    {
      encoding: "utf8",
    },
  ).trim();
  if (!fs.existsSync(p))
    throw new Error(`Trivy is not built at ${p}; run bash scripts/install-go-tools.sh trivy`);
  return p;
}

/** Trivy's failed misconfiguration checks per target file under `dir`. */
function trivyConfig(trivy: string, dir: string, cacheDir: string): Map<string, Finding[]> {
  const run = spawnSync(
    trivy,
    ["config", "--skip-check-update", "--quiet", "--cache-dir", cacheDir, "--format", "json", dir],
    { encoding: "utf8", maxBuffer: 256 * 2 ** 20 },
  );
  if (run.status !== 0) throw new Error(`trivy config ${dir} failed: ${run.stderr || run.stdout}`);
  const doc = JSON.parse(run.stdout) as { Results?: TrivyResult[] };
  const out = new Map<string, Finding[]>();
  for (const r of doc.Results ?? []) {
    const failed = (r.Misconfigurations ?? []).filter((m) => m.Status === "FAIL");
    if (failed.length)
      out.set(
        r.Target,
        failed.map((m) => ({ id: m.ID, severity: m.Severity, title: m.Title })),
      );
  }
  return out;
}

const severities = ["CRITICAL", "HIGH", "MEDIUM", "LOW", "UNKNOWN"];
const bySeverity = (fs: Finding[]) =>
  severities
    .map((s) => [s, fs.filter((f) => f.severity === s).length] as const)
    .filter(([, n]) => n > 0)
    .map(([s, n]) => `${s} ${n}`)
    .join(", ") || "none";

interface PlanDoc {
  policy?: {
    violations: {
      policy: string;
      enforcement: string;
      resource: { type: string; name: string; namespace?: string };
    }[];
  };
}

function main(): number {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: { stack: { type: "string", multiple: true }, out: { type: "string" } },
  });
  const stacks =
    values.stack ??
    fs
      .readdirSync(root)
      .map((f) => /^Pulumi\.([A-Za-z0-9_.-]+)\.yaml$/.exec(f)?.[1])
      .filter((s): s is string => s !== undefined)
      .sort();
  const outDir = path.resolve(values.out ?? path.join(root, "out", "scan"));
  const cacheDir = path.join(outDir, ".trivy-cache");
  fs.mkdirSync(cacheDir, { recursive: true });
  const trivy = trivyPath();
  let failed = false;
  const lines: string[] = [];

  // Dockerfiles: every image the program builds.
  const imagesDir = path.join(root, "components", "images");
  for (const name of fs.readdirSync(imagesDir).sort()) {
    const dir = path.join(imagesDir, name);
    if (!fs.existsSync(path.join(dir, "Dockerfile"))) continue;
    const findings = [...trivyConfig(trivy, dir, cacheDir).values()].flat();
    const blocking = findings.filter((f) => f.severity === "HIGH" || f.severity === "CRITICAL");
    failed ||= blocking.length > 0;
    lines.push(`Dockerfile components/images/${name}: ${bySeverity(findings)}`);
    for (const f of findings) lines.push(`    ${f.id} ${f.severity} ${f.title}`);
  }

  // Rendered manifests of every stack: Trivy next to the pack.
  for (const stack of stacks) {
    const dir = path.join(outDir, stack);
    const plan = planJson(stack, dir);
    if (plan.status === 2 || !plan.stdout)
      throw new Error(`plan of stack ${stack} failed: ${plan.stderr}`);
    const doc = JSON.parse(plan.stdout) as PlanDoc;
    const ours = new Map<string, string[]>();
    for (const v of doc.policy?.violations ?? []) {
      const kind = v.resource.type.split(":").pop();
      const key = `${v.resource.namespace ?? "_cluster"}/${kind}/${v.resource.name}`;
      ours.set(key, [...(ours.get(key) ?? []), `${v.policy} (${v.enforcement})`]);
      failed ||= v.enforcement === "mandatory";
    }
    const theirs = trivyConfig(trivy, dir, cacheDir);
    const all = [...theirs.values()].flat();
    lines.push("");
    lines.push(
      `Stack ${stack}: Trivy ${all.length} finding(s) (${bySeverity(all)}); policy pack ${doc.policy?.violations.length ?? 0} violation(s)`,
    );
    const rows = new Map<string, { trivy: Finding[]; ours: string[] }>();
    for (const [target, findings] of theirs) {
      const m = parse(fs.readFileSync(path.join(dir, target), "utf8")) as {
        kind: string;
        metadata: { name: string; namespace?: string };
      };
      const key = `${m.metadata.namespace ?? "_cluster"}/${m.kind}/${m.metadata.name}`;
      rows.set(key, { trivy: findings, ours: [] });
    }
    for (const [key, vs] of ours) rows.set(key, { trivy: rows.get(key)?.trivy ?? [], ours: vs });
    for (const [key, row] of [...rows].sort(([a], [b]) => a.localeCompare(b))) {
      lines.push(`  ${key}`);
      lines.push(
        `      trivy: ${row.trivy.map((f) => `${f.id} ${f.severity} (${f.title})`).join("; ") || "none"}`,
      );
      lines.push(`      pack:  ${row.ours.join("; ") || "none"}`);
    }
  }
  process.stdout.write(`${lines.join("\n")}\n`);
  return failed ? 1 : 0;
}

try {
  process.exitCode = main();
} catch (e) {
  process.stderr.write(`scan-images: ${(e as Error).message}\n`);
  process.exitCode = 2;
}
