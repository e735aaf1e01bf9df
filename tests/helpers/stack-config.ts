import * as fs from "fs";
import { parse } from "yaml";
import { validateConfig } from "../../infra/validate";
import { stackFile } from "../../scripts/lib/stack-config";

export const PROJECT = "auditflow-platform";

/** The raw config of a stack file, keyed without the project prefix, plus test secrets. */
export function rawConfig(stack: string): Record<string, unknown> {
  const doc = parse(fs.readFileSync(stackFile(stack), "utf8")) as {
    config: Record<string, unknown>;
  };
  const raw: Record<string, unknown> = {
    sshPrivateKey: "-----BEGIN OPENSSH PRIVATE KEY----- test",
    backupVerifyIdentity: `AGE-SECRET-KEY-1${"Q".repeat(58)}`,
    backupOffsiteSecretKey: "offsite-secret-key",
    registryPassword: "registry-token",
    acmeDns01Secret: "tsig-key",
    alertmanagerSmtpPassword: "smtp-password",
    alertmanagerSlackApiUrl: "https://hooks.slack.test/services/T0/B0/x",
  };
  for (const [k, v] of Object.entries(doc.config)) raw[k.slice(PROJECT.length + 1)] = v;
  return raw;
}

/** The problems of a stack's config changed by `mutate`; throws if it is accepted. */
export function problemsOf(mutate: (c: any) => void, stack = "dev") {
  const c = structuredClone(rawConfig(stack));
  mutate(c);
  const r = validateConfig(c, PROJECT);
  if (r.ok) throw new Error("expected the configuration to be rejected");
  return r.problems;
}
