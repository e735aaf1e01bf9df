/**
 * Formats checked both in the stack config (infra/schema.ts) and by the components that use the
 * values (postgres-backup, workload, namespace, analysis rules), defined once so none can drift.
 */

/**
 * A five-field cron schedule: minute, hour, day of month, month and day of week, separated by
 * white space (the fields themselves are Kubernetes' to parse).
 */
export const cronPattern = /^(\S+\s+){4}\S+$/;

/** An age X25519 public key: `age1` and 58 characters of the bech32 alphabet. */
export const ageRecipientPattern = /^age1[02-9ac-hj-np-z]{58}$/;

/** A DNS-1123 label (names of namespaces, containers, services): lower-case, at most 63. */
export const dns1123LabelPattern = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** A SHA-256 as sha256sum prints it: 64 lower-case hex digits. */
export const sha256Pattern = /^[0-9a-f]{64}$/;
