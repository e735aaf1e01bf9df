/**
 * The decisions of `npm run rollback`, kept pure so they can be tested without the Pulumi CLI:
 * reading its arguments, reading Pulumi's history and exported states, and choosing the image a
 * service returns to.
 */
import { parseImage } from "../../components/lib/image";

export interface RollbackArgs {
  stack: string;
  service: string;
  /** Stack version (from `pulumi stack history`) whose image to return to. */
  to?: number;
  /** Print the plan without changing the config or running `pulumi up`. */
  dryRun: boolean;
  /** Pass --yes to `pulumi up` (no interactive confirmation). */
  yes: boolean;
  /**
   * The stack file to read and change, passed to `pulumi config` and `pulumi up` as
   * `--config-file`. Defaults to the repository's Pulumi.<stack>.yaml.
   */
  configFile?: string;
}

export const USAGE =
  "usage: npm run rollback -- --stack <dev|staging|prod> --service <name> [--to <stack version>] [--config-file <stack file>] [--dry-run] [--yes]";

/** Parses the command line; throws an Error naming the flag and what is allowed. */
export function parseRollbackArgs(
  argv: readonly string[],
  stacks: readonly string[],
  services: readonly string[],
): RollbackArgs {
  const values = new Map<string, string>();
  const flags = new Set<string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--dry-run" || a === "--yes") flags.add(a);
    else if (a === "--stack" || a === "--service" || a === "--to" || a === "--config-file") {
      const v = argv[i + 1];
      if (v === undefined || v.startsWith("--")) throw new Error(`${a} needs a value. ${USAGE}`);
      values.set(a, v);
      i++;
    } else throw new Error(`unknown argument "${a}". ${USAGE}`);
  }
  const stack = values.get("--stack");
  if (!stack || !stacks.includes(stack))
    throw new Error(`--stack must be one of ${stacks.join(", ")} (got ${stack ?? "nothing"})`);
  const service = values.get("--service");
  if (!service || !services.includes(service))
    throw new Error(
      `--service must be one of ${services.join(", ")} (got ${service ?? "nothing"})`,
    );
  const toText = values.get("--to");
  let to: number | undefined;
  if (toText !== undefined) {
    if (!/^[1-9]\d{0,8}$/.test(toText))
      throw new Error(
        `--to must be a stack version number from pulumi stack history (got "${toText}")`,
      );
    to = Number(toText);
  }
  return {
    stack,
    service,
    to,
    dryRun: flags.has("--dry-run"),
    yes: flags.has("--yes"),
    ...(values.has("--config-file") ? { configFile: values.get("--config-file") } : {}),
  };
}

/** One entry of `pulumi stack history --json`. */
export interface HistoryEntry {
  version: number;
  kind: string;
  result: string;
}

/** The deployed image of every service, as the program exports it (`serviceImages`). */
export type ServiceImages = Record<string, { image: string; digest: string | null }>;

/** The `serviceImages` output of an exported state (`pulumi stack export`), if it has one. */
export function imagesOfExport(exported: unknown): ServiceImages | undefined {
  const resources = (exported as { deployment?: { resources?: unknown[] } } | null)?.deployment
    ?.resources;
  if (!Array.isArray(resources)) return undefined;
  const stack = resources.find(
    (r) => (r as { type?: string } | null)?.type === "pulumi:pulumi:Stack",
  ) as { outputs?: { serviceImages?: ServiceImages } } | undefined;
  return stack?.outputs?.serviceImages;
}

/** The URN of a service's Deployment in an exported state. */
export function deploymentUrnOf(exported: unknown, service: string): string | undefined {
  const resources =
    (exported as { deployment?: { resources?: { urn?: string; type?: string }[] } } | null)
      ?.deployment?.resources ?? [];
  return resources.find(
    (r) =>
      r.type === "kubernetes:apps/v1:Deployment" &&
      r.urn?.includes("auditflow:apps:AuditFlowService$") &&
      r.urn.endsWith(`::${service}`),
  )?.urn;
}

/**
 * The stack versions to look in, newest first: succeeded updates older than the current state
 * (or exactly `to`, which must be one).
 */
export function candidateVersions(history: readonly HistoryEntry[], to?: number): number[] {
  const succeeded = history
    .filter((h) => h.kind === "update" && h.result === "succeeded")
    .map((h) => h.version)
    .sort((a, b) => b - a);
  if (to !== undefined) {
    if (!succeeded.includes(to)) {
      throw new Error(
        `--to ${to} is not a succeeded update of this stack; succeeded updates: ${succeeded.join(", ") || "none"}`,
      );
    }
    return [to];
  }
  return succeeded.slice(1);
}

/**
 * The image to return to: the first candidate whose image differs from the current one (with
 * `to`, that version's image, which may not equal the current one). It must be pinned by digest,
 * so the rollback brings back exactly the bytes that ran then.
 */
export function chooseTarget(
  service: string,
  current: string,
  candidates: readonly { version: number; images: ServiceImages | undefined }[],
  explicit: boolean,
): { version: number; image: string } {
  for (const c of candidates) {
    const image = c.images?.[service]?.image;
    if (!image) {
      if (explicit) throw new Error(`stack version ${c.version} exported no image for ${service}`);
      continue;
    }
    if (image === current) {
      if (explicit)
        throw new Error(
          `stack version ${c.version} ran the current image of ${service} (${image})`,
        );
      continue;
    }
    const parsed = parseImage(image);
    if ("problem" in parsed || !parsed.digest) {
      throw new Error(
        `stack version ${c.version} ran ${service} as ${image}, which is not pinned by digest; a rollback must name the exact image (repository@sha256:...), so pin images by digest`,
      );
    }
    return { version: c.version, image };
  }
  throw new Error(
    `no earlier succeeded update ran another image of ${service} than the current ${current}`,
  );
}
