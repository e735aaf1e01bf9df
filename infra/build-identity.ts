/**
 * What built images are tagged with: the git commit being deployed and the release's semver.
 *
 * Both come from the environment CI sets (`GITHUB_SHA`, and `AUDITFLOW_RELEASE` from a `v1.2.3`
 * tag), else from the checkout (`git rev-parse HEAD`) and package.json's version. Pure apart from
 * reading those; infra/config.ts calls it.
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";

export interface BuildIdentity {
  /** The full commit SHA (40 hex digits). */
  gitSha: string;
  /** The release version, semver without a leading v (e.g. 1.4.0 or 1.5.0-rc.1). */
  release: string;
}

/** Semantic Versioning 2.0.0 (the release's version, without a leading "v"). */
export const semverPattern =
  /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[A-Za-z-][0-9A-Za-z-]*)(?:\.(?:0|[1-9]\d*|\d*[A-Za-z-][0-9A-Za-z-]*))*))?(?:\+([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?$/;

/** The image tags for an identity: `sha-<12 hex digits>` and the release. */
export function imageTags(id: BuildIdentity): string[] {
  return [`sha-${id.gitSha.slice(0, 12)}`, id.release.replace(/\+/g, "_")];
}

function gitHead(root: string): string | undefined {
  try {
    return execFileSync("git", ["rev-parse", "HEAD"], { cwd: root, encoding: "utf8" }).trim();
  } catch {
    return undefined;
  }
}

/**
 * Reads the build identity. Returns the problems instead (keyed by the environment variable to set)
 * when the commit cannot be found or a value is malformed.
 */
export function buildIdentity(
  env: NodeJS.ProcessEnv,
  root: string,
):
  | { ok: true; identity: BuildIdentity }
  | { ok: false; problems: { key: string; message: string }[] } {
  const problems: { key: string; message: string }[] = [];
  const gitSha = (env.AUDITFLOW_GIT_SHA ?? env.GITHUB_SHA ?? gitHead(root) ?? "").toLowerCase();
  if (!/^[0-9a-f]{40}$/.test(gitSha))
    problems.push({
      key: "AUDITFLOW_GIT_SHA",
      message:
        gitSha === ""
          ? "is required to tag built images: no GITHUB_SHA and no git checkout (set it to the commit being deployed)"
          : `must be a full 40-digit commit SHA (got "${gitSha}")`,
    });
  const pkg = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8")) as {
    version: string;
  };
  const release = (env.AUDITFLOW_RELEASE ?? pkg.version).replace(/^v/, "");
  if (!semverPattern.test(release))
    problems.push({
      key: "AUDITFLOW_RELEASE",
      message: `must be a semantic version such as 1.4.0 or v1.4.0 (got "${release}")`,
    });
  return problems.length ? { ok: false, problems } : { ok: true, identity: { gitSha, release } };
}
