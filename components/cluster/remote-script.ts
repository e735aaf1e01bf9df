/**
 * Running a shipped `.sh` file on a node over SSH with its typed environment.
 *
 * The environment travels on the command's stdin, as `export NAME='value'` lines ahead of the
 * script, not through @pulumi/command's `environment`: that is sent as SSH "env" requests, which
 * OpenSSH drops unless the server's AcceptEnv lists the name (Debian accepts only LANG and LC_*),
 * and the provider ignores the refusal. stdin is an input like any other: Pulumi stores it encrypted
 * when a secret flows into it, and the command text itself stays `sudo bash -s`.
 */
import * as pulumi from "@pulumi/pulumi";
import { loadShellScript, type EnvContract, type EnvValues, type ShellScript } from "../lib/shell";

/** The command text every node script runs with (the script itself comes on stdin). */
export const RUN_AS_ROOT = "sudo -n bash -s";

/** Quotes a value for a POSIX shell: single quotes, embedded ones closed and escaped. */
export function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** Functions the node scripts that change files share (put_file, changed, note). */
export const nodeLib = loadShellScript(__dirname, "node-lib.sh", {});

/** The script with its environment (and any shared functions it uses) prepended, as the command's stdin. */
export function scriptStdin<C extends EnvContract>(
  script: ShellScript<C>,
  values: EnvValues<C, pulumi.Input<string>>,
  prelude: readonly ShellScript<EnvContract>[] = [],
): pulumi.Output<string> {
  const env = script.environment<pulumi.Input<string>>(values);
  const names = Object.keys(env);
  return pulumi.all(names.map((n) => env[n]!)).apply((vals) =>
    [
      ...names.map((n, i) => `export ${n}=${shellQuote(vals[i]!)}`),
      ...prelude.map((p) => p.text),
      // A script's own shebang line is a comment here; bash runs the rest.
      script.text,
    ].join("\n"),
  );
}
