/**
 * MultiArchImage and PulledImage under Pulumi's mock runtime: the build's platforms, tags, cache and
 * credentials; the digest is unknown until built; bad arguments fail before anything is created;
 * a pulled image's platforms come from the registry look-up, and offline it says it could not check.
 */
import * as pulumi from "@pulumi/pulumi";
import { only, RecordedResource } from "../helpers/program";
import type { MultiArchImageArgs } from "../../components/images/multi-arch-image";

const args = (over: Partial<MultiArchImageArgs> = {}): MultiArchImageArgs => ({
  repository: "ghcr.io/auditflow/postgres-backup",
  context: "components/images/postgres-backup",
  platforms: ["linux/amd64", "linux/arm64"],
  tags: ["sha-0123456789ab", "1.4.0"],
  push: true,
  registry: { address: "ghcr.io", username: "ci", password: pulumi.secret("registry-token") },
  ...over,
});

async function build(
  over: Partial<MultiArchImageArgs> = {},
  preview = false,
): Promise<{ resources: RecordedResource[]; ref: unknown }> {
  let result: { resources: RecordedResource[]; ref: unknown } | undefined;
  await jest.isolateModulesAsync(async () => {
    const { runProgram } = await import("../../scripts/lib/mock-run");
    const { MultiArchImage } = await import("../../components/images/multi-arch-image");
    let ref: pulumi.Output<string> | undefined;
    const run = await runProgram({
      stack: "test",
      preview,
      program: () => {
        ref = new MultiArchImage("backup-image", args(over)).ref;
      },
    });
    result = { resources: run.resources, ref: await (ref as any)?.promise() };
  });
  return result!;
}

const BUILD = "docker-build:index:Image";

test("builds one manifest list for exactly the given platforms, tagged and pushed with a registry cache", async () => {
  const { resources } = await build();
  const image = only(resources, BUILD).inputs;
  expect(image.platforms).toEqual(["linux/amd64", "linux/arm64"]);
  expect(image.tags).toEqual([
    "ghcr.io/auditflow/postgres-backup:sha-0123456789ab",
    "ghcr.io/auditflow/postgres-backup:1.4.0",
  ]);
  expect(image.push).toBe(true);
  expect(image.buildOnPreview).toBe(false);
  expect(image.context).toEqual({ location: "components/images/postgres-backup" });
  expect(image.dockerfile).toEqual({ location: "components/images/postgres-backup/Dockerfile" });
  expect(image.cacheFrom).toEqual([
    { registry: { ref: "ghcr.io/auditflow/postgres-backup:buildcache" } },
  ]);
  expect(image.cacheTo).toEqual([
    {
      registry: {
        ref: "ghcr.io/auditflow/postgres-backup:buildcache",
        mode: "max",
        imageManifest: true,
      },
    },
  ]);
});

test("the registry password reaches the build only as a secret", async () => {
  const { resources } = await build();
  const image = only(resources, BUILD);
  expect(image.secretPaths.some((p) => p.startsWith("registries"))).toBe(true);
  expect(JSON.stringify(image.secretPaths)).not.toContain("registry-token");
});

test("a single-architecture stack builds only its own platform", async () => {
  const { resources } = await build({ platforms: ["linux/arm64"] });
  expect(only(resources, BUILD).inputs.platforms).toEqual(["linux/arm64"]);
});

test("the digest is unknown until the image is built: a preview leaves the reference unknown", async () => {
  const { ref } = await build({}, true);
  expect(ref).toBeUndefined();
});

test("a plan of the update shows the digest reference with the unknown marker, never an invented digest", async () => {
  const { ref } = await build();
  expect(ref).toBe("ghcr.io/auditflow/postgres-backup@[unknown until apply]");
});

test.each<[string, Partial<MultiArchImageArgs>, RegExp]>([
  [
    "no platform",
    { platforms: [] },
    /platforms must list at least one of linux\/amd64, linux\/arm64/,
  ],
  [
    "an unsupported platform",
    { platforms: ["linux/s390x" as never] },
    /platform "linux\/s390x" is not supported/,
  ],
  ["a platform twice", { platforms: ["linux/arm64", "linux/arm64"] }, /lists a platform twice/],
  [
    "a repository with a tag",
    { repository: "ghcr.io/auditflow/x:1.0" },
    /repository "ghcr.io\/auditflow\/x:1.0" must be registry\/path/,
  ],
  ["no tag", { tags: [] }, /tags must list at least one tag/],
  ["the latest tag", { tags: ["latest"] }, /tag "latest" must be .* never latest/],
  [
    "push without credentials",
    { registry: undefined },
    /registry credentials are required when push is true/,
  ],
  [
    "credentials for another registry",
    { registry: { address: "docker.io", username: "ci", password: "x" } },
    /registry.address "docker.io" is not the repository's registry "ghcr.io"/,
  ],
])("refuses %s before the build is created", async (_t, over, message) => {
  await expect(build(over)).rejects.toThrow(message);
});

async function pulled(
  registry?: (image: string) => { os: string; architecture: string }[],
): Promise<RecordedResource> {
  let found: RecordedResource | undefined;
  await jest.isolateModulesAsync(async () => {
    const { runProgram } = await import("../../scripts/lib/mock-run");
    const { PulledImage } = await import("../../components/images/pulled-image");
    const run = await runProgram({
      stack: "test",
      registry,
      program: () =>
        new PulledImage("pulled-redis", {
          image: `docker.io/library/redis:7.4.2-alpine3.21@sha256:${"c".repeat(64)}`,
          declaredPlatforms: ["linux/amd64", "linux/arm64"],
        }),
    });
    found = only(run.resources, "auditflow:images:PulledImage");
  });
  return found!;
}

test("a pulled image's platforms are what the registry's manifest list holds", async () => {
  const asked: string[] = [];
  const r = await pulled((image) => {
    asked.push(image);
    return [
      { os: "linux", architecture: "amd64" },
      { os: "unknown", architecture: "unknown" }, // an attestation manifest
    ];
  });
  expect(asked).toEqual([`docker.io/library/redis:7.4.2-alpine3.21@sha256:${"c".repeat(64)}`]);
  expect(r.inputs.checked).toBe(true);
  expect(r.inputs.platforms).toEqual(["linux/amd64"]);
});

test("offline, a pulled image says it could not check and reports the declared platforms", async () => {
  const r = await pulled();
  expect(r.inputs.checked).toBe(false);
  expect(r.inputs.reason).toMatch(/registry look-up failed: no registry is reachable/);
  expect(r.inputs.platforms).toEqual(["linux/amd64", "linux/arm64"]);
});

test("a registry that has no such image is a checked answer with no platforms, not an unchecked one", async () => {
  const r = await pulled(() => {
    throw new Error("MANIFEST_UNKNOWN: manifest unknown");
  });
  expect(r.inputs.checked).toBe(true);
  expect(r.inputs.platforms).toEqual([]);
  expect(r.inputs.reason).toMatch(/the registry has no such image: MANIFEST_UNKNOWN/);
});

test("a pulled image must be pinned by tag and digest", async () => {
  const { PulledImage } = await import("../../components/images/pulled-image");
  expect(
    () => new PulledImage("p", { image: "docker.io/library/redis:7.4.2", declaredPlatforms: [] }),
  ).toThrow(/must be pinned by tag and digest/);
});
