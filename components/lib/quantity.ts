/**
 * Kubernetes resource quantities for the program: the parser shared with the policy pack
 * (shared/quantity.ts) and the units server configs and sizing reports use.
 */

import { bytes } from "../../shared/quantity";

export { bytes, bytesPattern, cpuMillis, cpuPattern } from "../../shared/quantity";

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
