/** Container image platforms: the ones the clusters' nodes have and how references name them. */

/** The platforms a MultiArchImage may build (the architectures K3s nodes of the stacks have). */
export const PLATFORMS = ["linux/amd64", "linux/arm64"] as const;
export type Platform = (typeof PLATFORMS)[number];

/** `linux/<arch>` for each distinct node architecture, sorted, e.g. ["linux/amd64", "linux/arm64"]. */
export function platformsOf(archs: readonly ("amd64" | "arm64")[]): Platform[] {
  return [...new Set(archs)].sort().map((a) => `linux/${a}` as Platform);
}

/** A tag name: 1-128 characters of [A-Za-z0-9_.-], not starting with '.' or '-'. */
export const tagPattern = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

/** A repository without tag or digest: `registry[:port]/path` with lower-case path components. */
export const repositoryPattern =
  /^[a-z0-9.-]+(?::\d+)?(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)+$/;

/** The registry host of a repository (`ghcr.io` for `ghcr.io/auditflow/x`). */
export function registryOf(repository: string): string {
  return repository.split("/")[0]!;
}
