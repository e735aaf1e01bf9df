import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { parseImage } from "../lib/image";
import { PLATFORMS, Platform } from "./platforms";

export interface PulledImageArgs {
  /** A third-party image pinned by tag and digest (`repo:tag@sha256:...`). Required. */
  image: string;
  /** The platforms its manifest list is known to hold (components/versions.ts). Required. */
  declaredPlatforms: readonly Platform[];
  /**
   * Ask the registry (a `docker.getRegistryImageManifests` look-up, at preview and up) which
   * platforms the pinned manifest list holds. Defaults to true.
   */
  check?: boolean;
}

/** What the registry look-up found: the platforms, or why it could not check. */
export interface ArchitectureCheck {
  /** The platforms the image provides: the registry's answer when checked, else the declared ones. */
  platforms: string[];
  /** True when the registry answered. */
  checked: boolean;
  /** Why it could not check (registry unreachable, look-up disabled); empty when checked. */
  reason: string;
}

/**
 * A third-party image the platform pulls, pinned by tag and digest. Its platforms are looked up in
 * the registry's manifest list where the registry is reachable; where it is not (offline plans, a
 * network without the registry) the component says it could not check and reports the platforms
 * versions.ts declares, never a result it did not get.
 *
 * The image reference and platforms are the component's inputs and outputs (nothing secret) so the
 * `image-architectures` policy sees pulled images as it sees image builds.
 */
export class PulledImage extends pulumi.ComponentResource {
  /** The pinned reference (`repo:tag@sha256:...`) for pod specs. */
  public readonly ref: string;
  /** The platforms the image provides (see ArchitectureCheck.platforms). */
  public readonly platforms: pulumi.Output<string[]>;
  /** Whether the registry confirmed the platforms. */
  public readonly checked: pulumi.Output<boolean>;

  constructor(name: string, args: PulledImageArgs, opts?: pulumi.ComponentResourceOptions) {
    const parsed = parseImage(args.image);
    if ("problem" in parsed)
      throw new Error(`PulledImage ${name}: image "${args.image}" ${parsed.problem}`);
    if (!parsed.tag || !parsed.digest)
      throw new Error(
        `PulledImage ${name}: image "${args.image}" must be pinned by tag and digest (repo:tag@sha256:...) so a re-pushed tag cannot change it`,
      );
    for (const p of args.declaredPlatforms)
      if (!(PLATFORMS as readonly string[]).includes(p))
        throw new Error(
          `PulledImage ${name}: declared platform "${p}" is not one of ${PLATFORMS.join(", ")}`,
        );
    const result = pulumi.output(
      args.check === false
        ? Promise.resolve(unchecked(args.declaredPlatforms, "the registry check is turned off"))
        : lookUpPlatforms(args.image, args.declaredPlatforms),
    );
    const platforms = result.apply((r) => r.platforms);
    const checked = result.apply((r) => r.checked);
    // Inputs on purpose (see the class comment): the reference and the platforms, nothing secret.
    super(
      "auditflow:images:PulledImage",
      name,
      { image: args.image, platforms, checked, reason: result.apply((r) => r.reason) },
      opts,
    );
    this.ref = args.image;
    this.platforms = platforms;
    this.checked = checked;
    result.apply((r) => {
      if (!r.checked)
        void pulumi.log.warn(
          `could not check the architectures of ${args.image} against its registry (${r.reason}); assuming the declared ${r.platforms.join(", ")}`,
          this,
        );
    });
    this.registerOutputs({ image: this.ref, platforms, checked });
  }
}

function unchecked(declared: readonly Platform[], reason: string): ArchitectureCheck {
  return { platforms: [...declared], checked: false, reason };
}

/** The `os/architecture[/variant]` platforms of a manifest list (attestations excluded). */
export async function lookUpPlatforms(
  image: string,
  declared: readonly Platform[],
): Promise<ArchitectureCheck> {
  try {
    const result = await docker.getRegistryImageManifests({ name: image });
    const platforms = result.manifests
      .filter((m) => m.os !== "unknown" && m.architecture !== "unknown")
      .map((m) => `${m.os}/${m.architecture}`);
    return { platforms: [...new Set(platforms)].sort(), checked: true, reason: "" };
  } catch (e) {
    const err = e as { details?: string; message?: string };
    const message = (err.details || err.message || String(e)).split("\n")[0]!;
    // A registry that answers "no such manifest" was reached: the pinned image provides nothing.
    if (/manifest unknown|not found|404/i.test(message))
      return { platforms: [], checked: true, reason: `the registry has no such image: ${message}` };
    return unchecked(declared, `registry look-up failed: ${message}`);
  }
}
