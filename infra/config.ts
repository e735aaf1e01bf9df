/**
 * The ONE place the program reads Pulumi configuration.
 *
 * It collects every `auditflow-platform:*` key of the selected stack, validates the whole object
 * (infra/schema.ts) and stops the program before any resource is created when anything is wrong,
 * listing every problem with its key. Secret values are handed on as secret Outputs only.
 */
import * as pulumi from "@pulumi/pulumi";
import { PlatformConfig, SECRET_KEYS } from "./schema";
import { validateConfig } from "./validate";
import { BuildIdentity, buildIdentity } from "./build-identity";
import { PROJECT_ROOT } from "./images-config";

export type { PlatformConfig } from "./schema";

/** Validated stack configuration plus the secrets it carries, as secret Outputs. */
export interface StackConfig extends Readonly<
  Omit<
    PlatformConfig,
    | "sshPrivateKey"
    | "backupVerifyIdentity"
    | "backupOffsiteSecretKey"
    | "registryPassword"
    | "acmeDns01Secret"
    | "alertmanagerSmtpPassword"
    | "alertmanagerSlackApiUrl"
  >
> {
  /** The stack name (dev, staging, prod or a personal stack). */
  readonly stack: string;
  /** SSH private key used to install K3s; present when cluster.provisioning is "ssh". */
  readonly sshPrivateKey?: pulumi.Output<string>;
  /** The backup verification job's age identity (secret). */
  readonly backupVerifyIdentity: pulumi.Output<string>;
  /** Secret access key of the off-site backup store; present when data.backups.offsite is set. */
  readonly backupOffsiteSecretKey?: pulumi.Output<string>;
  /** The registry token for pushing built images; present when images.push is true. */
  readonly registryPassword?: pulumi.Output<string>;
  /** The commit and release built images are tagged with; present when the stack builds images. */
  readonly build?: BuildIdentity;
  /** The DNS provider's credential for ACME DNS-01; present when ingress.acme.solver is "dns01". */
  readonly acmeDns01Secret?: pulumi.Output<string>;
  /** SMTP password of Alertmanager's e-mail receivers (secret), when smtp.authUsername is set. */
  readonly alertmanagerSmtpPassword?: pulumi.Output<string>;
  /** Slack incoming-webhook URL (secret), when a receiver posts to Slack. */
  readonly alertmanagerSlackApiUrl?: pulumi.Output<string>;
}

/** Error for bad configuration: a clean message for the user, no stack trace. */
export class ConfigError extends pulumi.RunError {
  constructor(public readonly problems: { key: string; message: string }[]) {
    super(
      `Invalid stack configuration (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n` +
        problems.map((p) => `  - ${p.key}: ${p.message}`).join("\n"),
    );
    this.name = "ConfigError";
  }
}

/**
 * Parses a raw config string: structured values arrive as JSON text, scalars as plain strings.
 * Strings that are not JSON stay strings, so `environment: dev` reads as "dev".
 */
function parseValue(v: string): unknown {
  try {
    return JSON.parse(v);
  } catch {
    return v;
  }
}

/** Reads, validates and freezes the stack configuration; throws ConfigError listing every problem. */
export function loadConfig(): StackConfig {
  const project = pulumi.getProject();
  const prefix = `${project}:`;
  const raw: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(pulumi.runtime.allConfig())) {
    if (k.startsWith(prefix)) {
      const key = k.slice(prefix.length);
      // Secrets stay strings whatever they look like; everything else may be structured.
      raw[key] = (SECRET_KEYS as readonly string[]).includes(key) ? v : parseValue(v);
    }
  }
  const result = validateConfig(raw, project);
  // The commit and release matter only when the stack builds images (an images section).
  const identity = raw.images === undefined ? undefined : buildIdentity(process.env, PROJECT_ROOT);
  const problems = [
    ...(result.ok ? [] : result.problems),
    ...(identity && !identity.ok ? identity.problems : []),
  ];
  if (!result.ok || problems.length > 0) throw new ConfigError(problems);

  const {
    sshPrivateKey: _plain,
    backupVerifyIdentity: _identity,
    backupOffsiteSecretKey: _offsiteKey,
    registryPassword: _registryPassword,
    acmeDns01Secret: _dnsSecret,
    alertmanagerSmtpPassword: _smtp,
    alertmanagerSlackApiUrl: _slack,
    ...rest
  } = result.config;
  const config = new pulumi.Config();
  return Object.freeze({
    ...rest,
    stack: pulumi.getStack(),
    sshPrivateKey: _plain === undefined ? undefined : config.requireSecret("sshPrivateKey"),
    backupVerifyIdentity: config.requireSecret("backupVerifyIdentity"),
    backupOffsiteSecretKey: rest.data.backups.offsite
      ? config.requireSecret("backupOffsiteSecretKey")
      : undefined,
    registryPassword: rest.images?.push ? config.requireSecret("registryPassword") : undefined,
    build: identity?.ok ? identity.identity : undefined,
    acmeDns01Secret:
      rest.ingress.acme?.solver === "dns01" ? config.requireSecret("acmeDns01Secret") : undefined,
    alertmanagerSmtpPassword:
      _smtp === undefined ? undefined : config.requireSecret("alertmanagerSmtpPassword"),
    alertmanagerSlackApiUrl:
      _slack === undefined ? undefined : config.requireSecret("alertmanagerSlackApiUrl"),
  });
}
