import { goodStack, mutated, pod, spec, violationsOf } from "./fixtures";

const c0 = (o: any) => pod(o).containers[0];

spec("image-tag-pinned", [
  [
    "latest",
    () => mutated("Deployment", (o) => (c0(o).image = "ghcr.io/auditflow/api:latest")),
    /uses the mutable tag latest/,
  ],
  [
    "no tag",
    () => mutated("Deployment", (o) => (c0(o).image = "ghcr.io/auditflow/api")),
    /has no tag/,
  ],
]);
test("image-tag-pinned accepts a digest without a tag", async () => {
  const stack = mutated(
    "Deployment",
    (o) => (c0(o).image = `ghcr.io/auditflow/api@sha256:${"a".repeat(64)}`),
  );
  expect(await violationsOf("image-tag-pinned", stack)).toEqual([]);
});

spec("image-pull-policy", [
  [
    "unset",
    () => mutated("Deployment", (o) => delete c0(o).imagePullPolicy),
    /does not set imagePullPolicy/,
  ],
  [
    "Never",
    () => mutated("Deployment", (o) => (c0(o).imagePullPolicy = "Never")),
    /uses imagePullPolicy Never/,
  ],
]);

spec(
  "allowed-registries",
  [
    [
      "Docker Hub short name",
      () => mutated("Deployment", (o) => (c0(o).image = "nginx:1.27")),
      /nginx:1.27 comes from docker.io, not one of ghcr.io, quay.io/,
    ],
    [
      "unknown registry",
      () => mutated("Job", (o) => (c0(o).image = "registry.evil.example/x:1")),
      /comes from registry.evil.example/,
    ],
  ],
  { registries: ["ghcr.io", "quay.io"] },
);

describe("image-architectures", () => {
  const build = (platforms: string[], tag = "ghcr.io/auditflow/api:1.2.3") => ({
    urn: "urn:pulumi:test::fixture::docker-build:index:Image::api-image",
    type: "docker-build:index:Image",
    name: "api-image",
    props: { platforms, push: true, tags: [tag] },
  });
  const config = { architectures: ["arm64", "amd64"] };
  test("an image built for every node architecture passes", async () => {
    expect(
      await violationsOf(
        "image-architectures",
        [...goodStack(), build(["linux/amd64", "linux/arm64"])],
        config,
      ),
    ).toEqual([]);
  });
  test("a single-architecture build fails and names the missing platform", async () => {
    const vs = await violationsOf(
      "image-architectures",
      [...goodStack(), build(["linux/amd64"])],
      config,
    );
    expect(vs).toHaveLength(1);
    expect(vs[0]!.message).toMatch(
      /image build api-image lacks linux\/arm64 \(builds linux\/amd64\)/,
    );
    expect(vs[0]!.resource.type).toBe("docker-build:index:Image");
  });
  const usedBy = (arch: string) =>
    mutated("Deployment", (o) => {
      c0(o).image = "ghcr.io/auditflow/api-amd64:1.2.3";
      pod(o).nodeSelector = { "kubernetes.io/arch": arch };
    });
  test("an amd64-only image whose pods are pinned to amd64 nodes passes", async () => {
    const vs = await violationsOf(
      "image-architectures",
      [...usedBy("amd64"), build(["linux/amd64"], "ghcr.io/auditflow/api-amd64:1.2.3")],
      config,
    );
    expect(vs).toEqual([]);
  });
  test("an amd64-only image whose pods are pinned to arm64 nodes fails and says where they can land", async () => {
    const vs = await violationsOf(
      "image-architectures",
      [...usedBy("arm64"), build(["linux/amd64"], "ghcr.io/auditflow/api-amd64:1.2.3")],
      config,
    );
    expect(vs.map((v) => v.message)).toEqual([
      expect.stringMatching(
        /image build api-image lacks linux\/arm64 \(builds linux\/amd64\); its pods can be scheduled on arm64 nodes/,
      ),
    ]);
  });
  const pulled = (platforms: unknown) => ({
    urn: "urn:pulumi:test::fixture::auditflow:images:PulledImage::pulled-redis",
    type: "auditflow:images:PulledImage",
    name: "pulled-redis",
    props: { image: "docker.io/library/redis:7.4.2@sha256:" + "b".repeat(64), platforms },
  });
  test("a pulled image whose manifest list has every node architecture passes", async () => {
    expect(
      await violationsOf(
        "image-architectures",
        [...goodStack(), pulled(["linux/amd64", "linux/arm64", "linux/s390x"])],
        config,
      ),
    ).toEqual([]);
  });
  test("a pulled amd64-only image fails on a stack with arm64 nodes and names the image", async () => {
    const vs = await violationsOf(
      "image-architectures",
      [...goodStack(), pulled(["linux/amd64"])],
      config,
    );
    expect(vs).toHaveLength(1);
    expect(vs[0]!.message).toMatch(
      /pulled image docker\.io\/library\/redis:7\.4\.2@sha256:b{64} lacks linux\/arm64 \(its manifest list has linux\/amd64\)/,
    );
  });
  test("a pulled image whose platforms are unknown until apply is not judged", async () => {
    expect(
      await violationsOf("image-architectures", [...goodStack(), pulled(undefined)], config),
    ).toEqual([]);
  });
});
