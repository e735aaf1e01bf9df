/**
 * The longest gap between two runs of a five-field cron schedule (minute hour day-of-month month
 * day-of-week), found by walking 52 weeks of 2025 minute by minute in UTC. Alerts on "no run lately"
 * derive their threshold from it. Supports `*`, numbers, lists, ranges and steps (`*\/15`, `1-5`).
 */
export function cronMaxGapHours(expr: string): number {
  const fields = expr.trim().split(/\s+/);
  if (fields.length !== 5) throw new Error(`cron "${expr}" must have five fields`);
  const [min, hour, dom, mon, dow] = fields as [string, string, string, string, string];
  const m = field(min, 0, 59);
  const h = field(hour, 0, 23);
  const d = field(dom, 1, 31);
  const mo = field(mon, 1, 12);
  const w = field(dow.replace(/\b7\b/g, "0"), 0, 6);
  // Standard cron: when both day fields are restricted, either may match.
  const dayOr = dom !== "*" && dow !== "*";
  const start = Date.UTC(2025, 0, 1);
  const minutes = 52 * 7 * 24 * 60; // 52 weeks, minute by minute
  let first = -1;
  let last = -1;
  let gap = 0;
  for (let i = 0; i < minutes; i++) {
    const t = new Date(start + i * 60_000);
    if (!m.has(t.getUTCMinutes()) || !h.has(t.getUTCHours()) || !mo.has(t.getUTCMonth() + 1))
      continue;
    const dm = d.has(t.getUTCDate());
    const dw = w.has(t.getUTCDay());
    if (!(dayOr ? dm || dw : dm && dw)) continue;
    if (first < 0) first = i;
    else gap = Math.max(gap, i - last);
    last = i;
  }
  if (first < 0) throw new Error(`cron "${expr}" never runs within a year`);
  if (gap === 0) gap = minutes; // runs once a year at most
  return gap / 60;
}

function field(f: string, lo: number, hi: number): Set<number> {
  const out = new Set<number>();
  for (const part of f.split(",")) {
    const [range, stepText] = part.split("/") as [string, string | undefined];
    const step = stepText === undefined ? 1 : Number(stepText);
    let a = lo;
    let b = hi;
    if (range !== "*") {
      const [x, y] = range.split("-");
      a = Number(x);
      b = y === undefined ? (stepText === undefined ? a : hi) : Number(y);
    }
    if (![a, b, step].every(Number.isInteger) || a < lo || b > hi || a > b || step < 1)
      throw new Error(`cron field "${f}" is not a valid value between ${lo} and ${hi}`);
    for (let v = a; v <= b; v += step) out.add(v);
  }
  return out;
}
