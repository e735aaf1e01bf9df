import * as path from "path";
import * as dockerBuild from "@pulumi/docker-build";
import * as pulumi from "@pulumi/pulumi";
import { PLATFORMS, Platform, registryOf, repositoryPattern, tagPattern } from "./platforms";

/** Push credentials for the image's registry. */
export interface RegistryLogin {
  /** Registry host, e.g. `ghcr.io`; must be the repository's registry. Required. */
  address: string;
  /** User name. Required. */
  username: string;
  /** Password or token (secret config); it reaches only the build provider, as a secret. Required. */
  password: pulumi.Input<string>;
}

export interface MultiArchImageArgs {
  /** Repository without tag, e.g. `ghcr.io/auditflow/postgres-backup`. Required. */
  repository: string;
  /** Build context directory. Required. */
  context: string;
  /** Dockerfile path. Defaults to `Dockerfile` in the context. */
  dockerfile?: string;
  /** Build arguments (`ARG`s); never secrets, they are recorded in the image. Defaults to none. */
  buildArgs?: Record<string, string>;
  /** Stage to build in a multi-stage Dockerfile. Defaults to the last stage. */
  target?: string;
  /**
   * Platforms of the one manifest list: exactly the architectures of the stack's nodes. Required
   * (at least one of linux/amd64, linux/arm64).
   */
  platforms: readonly Platform[];
  /** Tag names pushed for the manifest list (the git commit, the release). Required (at least one). */
  tags: readonly string[];
  /** Push the manifest list to the registry. Required. */
  push: boolean;
  /** Credentials for pushing (and the registry cache). Required when `push` is true. */
  registry?: RegistryLogin;
  /**
   * Reuse layers through a registry cache at `<repository>:buildcache` (read always, written when
   * pushing). Defaults to true.
   */
  cache?: boolean;
  /**
   * Name of the buildx builder to use (a `docker.BuildxBuilder` with the docker-container driver
   * cross-builds every platform on one x86 runner through QEMU). Defaults to the current builder.
   */
  builder?: pulumi.Input<string>;
}

/**
 * One image built for every platform the stack's nodes have and pushed as a single manifest list
 * (`@pulumi/docker-build`, BuildKit). Deployments refer to it by digest (`ref`), never by tag, so a
 * re-pushed tag cannot change what runs.
 *
 * The image is built on `pulumi up` only (`buildOnPreview: false`): a preview shows the build with
 * its platforms and an unknown digest instead of spending minutes emulating arm64.
 */
export class MultiArchImage extends pulumi.ComponentResource {
  /** `repository@sha256:...` of the pushed manifest list, for pod specs. */
  public readonly ref: pulumi.Output<string>;
  /** The manifest list's digest (`sha256:...`); unknown until the image is built. */
  public readonly digest: pulumi.Output<string>;
  /** The platforms the manifest list holds. */
  public readonly platforms: readonly Platform[];
  /** The tag references pushed (`repository:tag`). */
  public readonly tags: readonly string[];
  /** The build resource, for `dependsOn`. */
  public readonly image: dockerBuild.Image;

  constructor(name: string, args: MultiArchImageArgs, opts?: pulumi.ComponentResourceOptions) {
    super("auditflow:images:MultiArchImage", name, {}, opts);
    validateImageArgs(name, args);
    const { repository } = args;
    const cacheRef = `${repository}:buildcache`;
    const cache = args.cache ?? true;
    this.platforms = [...args.platforms];
    this.tags = args.tags.map((t) => `${repository}:${t}`);
    this.image = new dockerBuild.Image(
      name,
      {
        context: { location: args.context },
        dockerfile: { location: args.dockerfile ?? path.join(args.context, "Dockerfile") },
        buildArgs: args.buildArgs,
        target: args.target,
        platforms: [...args.platforms] as dockerBuild.Platform[],
        tags: [...this.tags],
        push: args.push,
        buildOnPreview: false,
        builder: args.builder === undefined ? undefined : { name: args.builder },
        registries: args.registry && [
          {
            address: args.registry.address,
            username: args.registry.username,
            password: pulumi.secret(args.registry.password),
          },
        ],
        cacheFrom: cache ? [{ registry: { ref: cacheRef } }] : undefined,
        cacheTo:
          cache && args.push
            ? [
                {
                  registry: { ref: cacheRef, mode: dockerBuild.CacheMode.Max, imageManifest: true },
                },
              ]
            : undefined,
      },
      { parent: this },
    );
    this.digest = this.image.digest;
    this.ref = pulumi.interpolate`${repository}@${this.image.digest}`;
    this.registerOutputs({ ref: this.ref, digest: this.digest, platforms: this.platforms });
  }
}

function validateImageArgs(name: string, args: MultiArchImageArgs): void {
  const fail = (msg: string): never => {
    throw new Error(`MultiArchImage ${name}: ${msg}`);
  };
  if (!repositoryPattern.test(args.repository))
    fail(
      `repository "${args.repository}" must be registry/path without tag or digest, e.g. ghcr.io/auditflow/postgres-backup`,
    );
  if (args.platforms.length === 0)
    fail(`platforms must list at least one of ${PLATFORMS.join(", ")}`);
  for (const p of args.platforms)
    if (!(PLATFORMS as readonly string[]).includes(p))
      fail(`platform "${p}" is not supported; allowed: ${PLATFORMS.join(", ")}`);
  if (new Set(args.platforms).size !== args.platforms.length)
    fail(`platforms lists a platform twice (${args.platforms.join(", ")})`);
  if (args.tags.length === 0) fail("tags must list at least one tag (the git commit, the release)");
  for (const t of args.tags)
    if (!tagPattern.test(t) || t === "latest")
      fail(
        `tag "${t}" must be 1-128 of [A-Za-z0-9_.-], not starting with '.' or '-', never latest`,
      );
  if (args.push && !args.registry) fail("registry credentials are required when push is true");
  if (args.registry && args.registry.address !== registryOf(args.repository))
    fail(
      `registry.address "${args.registry.address}" is not the repository's registry "${registryOf(args.repository)}"`,
    );
}
