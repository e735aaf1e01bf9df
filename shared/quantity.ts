/**
 * Kubernetes resource quantities: the one parser the program (components/lib/quantity.ts, infra/)
 * and the policy pack (policy/) share. `shared/` holds small, dependency-free modules both sides may
 * import, so that the pack never imports program code and the two never disagree on a grammar.
 *
 * `parseQuantity` reads what Kubernetes accepts in a manifest (decimal and binary suffixes, `m`,
 * a sign, or a plain number) and returns undefined for anything else; `cpuMillis` and `bytes` are
 * the strict forms the program's own inputs must take, and throw.
 */

const factors: Record<string, number> = {
  "": 1,
  m: 1e-3,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

const quantityPattern = /^([+-]?\d+(?:\.\d+)?)(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$/;

/**
 * The value of a quantity in base units (`250m` = 0.25 cores, `1Gi` = 1073741824 bytes; a number
 * is taken as it is), or undefined when it is not a quantity.
 */
export function parseQuantity(q: unknown): number | undefined {
  if (typeof q === "number") return q;
  if (typeof q !== "string") return undefined;
  const m = quantityPattern.exec(q.trim());
  if (!m) return undefined;
  return Number(m[1]) * factors[m[2] ?? ""]!;
}

/** A CPU quantity as the program takes it: millicores (`250m`) or cores (`1`, `1.5`). */
export const cpuPattern = /^(\d+m|\d+(\.\d+)?)$/;
/** A byte quantity as the program takes it: `128Mi`, `1Gi`, `500M`, `1073741824`. */
export const bytesPattern = /^\d+(\.\d+)?(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?$/;

/** CPU quantity in whole millicores; throws on anything cpuPattern refuses. */
export function cpuMillis(q: string): number {
  if (!cpuPattern.test(q)) {
    throw new Error(`"${q}" is not a CPU quantity (use millicores like 250m or cores like 1.5)`);
  }
  return Math.round(parseQuantity(q)! * 1000);
}

/** Byte quantity in whole bytes; throws on anything bytesPattern refuses. */
export function bytes(q: string): number {
  if (!bytesPattern.test(q)) {
    throw new Error(`"${q}" is not a memory or storage quantity (use e.g. 128Mi, 1Gi, 500M)`);
  }
  return Math.round(parseQuantity(q)!);
}
