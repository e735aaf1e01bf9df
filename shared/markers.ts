/**
 * How values a person cannot be shown appear in everything the tools print or write: the offline
 * plan's documents and manifests, config error messages, and the policy pack's view of a preview.
 * One definition for the program's tools and the pack (see shared/quantity.ts for why `shared/`).
 */

/** A value that is computed only when the stack is applied (a preview's unknowns). */
export const UNKNOWN_MARKER = "[unknown until apply]";

/** A secret value, wherever it would otherwise be printed. */
export const SECRET_MARKER = "[secret]";
