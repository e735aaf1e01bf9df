/**
 * Kubernetes resource quantities: parsing and formatting for the subset the platform uses
 * (CPU in cores or millicores, memory and storage with binary or decimal suffixes).
 */

const binary: Record<string, number> = {
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};
const decimal: Record<string, number> = { k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18 };

/** Matches a CPU quantity such as `250m`, `1`, `1.5`. */
export const cpuPattern = /^(\d+m|\d+(\.\d+)?)$/;
/** Matches a byte quantity such as `128Mi`, `1Gi`, `500M`, `1073741824`. */
export const bytesPattern = /^\d+(\.\d+)?(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?$/;

/** CPU quantity in millicores; throws on anything that is not a CPU quantity. */
export function cpuMillis(q: string): number {
  if (!cpuPattern.test(q)) {
    throw new Error(`"${q}" is not a CPU quantity (use millicores like 250m or cores like 1.5)`);
  }
  return q.endsWith("m") ? Number(q.slice(0, -1)) : Math.round(Number(q) * 1000);
}

/** Byte quantity in bytes; throws on anything that is not a byte quantity. */
export function bytes(q: string): number {
  const m = /^(\d+(?:\.\d+)?)([A-Za-z]*)$/.exec(q);
  if (!m || !bytesPattern.test(q)) {
    throw new Error(`"${q}" is not a memory or storage quantity (use e.g. 128Mi, 1Gi, 500M)`);
  }
  const suffix = m[2] ?? "";
  const factor = suffix === "" ? 1 : (binary[suffix] ?? decimal[suffix] ?? NaN);
  return Math.round(Number(m[1]) * factor);
}

/** Bytes as a whole number of MiB (rounded down), the unit most server configs take. */
export function mebibytes(q: string): number {
  return Math.floor(bytes(q) / 2 ** 20);
}

/** Formats millicores as a quantity (`1500m` becomes `1500m`, `2000` stays millicores for clarity). */
export function formatCpu(millis: number): string {
  return `${Math.round(millis)}m`;
}

/** Formats bytes as whole MiB (`Mi`), the unit used across the platform's sizing. */
export function formatMi(b: number): string {
  return `${Math.ceil(b / 2 ** 20)}Mi`;
}
