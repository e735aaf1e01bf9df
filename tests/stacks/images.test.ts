/**
 * The program's images per stack: every service built from source gets exactly the platforms of the
 * stack's nodes, its Deployment runs the build's digest reference, the backup image is built through
 * the same component, and the pulled third-party images are judged by image-architectures with
 * what their registries list.
 */
import { parse } from "yaml";
import * as fs from "fs";
import { runPack } from "../../policy/engine/evaluate";
import { toPlanned } from "../../scripts/plan";
import { stackFile } from "../../scripts/lib/stack-config";
import { ofKind, planStack, RecordedResource } from "../helpers/program";

const BUILD = "docker-build:index:Image";

/** The stack's services, each built from a context instead of a prebuilt image. */
function builtServices(stack: string): unknown[] {
  const doc = parse(fs.readFileSync(stackFile(stack), "utf8")) as {
    config: Record<string, unknown>;
  };
  const services = doc.config["auditflow-platform:services"] as Record<string, unknown>[];
  return services.map((s) => ({ ...s, build: { context: "components/images/postgres-backup" } }));
}

function containerImages(resources: RecordedResource[], kind: string, name: string): string[] {
  const w = ofKind(resources, kind).find((r) => r.name === name);
  const spec = (w?.inputs as any)?.spec;
  const pod = kind === "CronJob" ? spec.jobTemplate.spec.template.spec : spec.template.spec;
  return (pod.containers as { image: string }[]).map((c) => c.image);
}

describe.each([
  ["prod", ["linux/amd64", "linux/arm64"]],
  ["dev", ["linux/arm64"]],
])("stack %s with every service built from source", (stack, platforms) => {
  let resources: RecordedResource[];
  beforeAll(async () => {
    resources = (await planStack(stack, { overrides: { services: builtServices(stack) } }))
      .resources;
  });

  test(`every service and the backup image are built for exactly ${platforms.join(" and ")}`, () => {
    const builds = resources.filter((r) => r.type === BUILD);
    expect(builds.map((b) => b.name).sort()).toEqual(
      [
        "audit-event-generator-image",
        "audit-log-analysis-image",
        "event-audit-dashboard-image",
        "notification-service-image",
        "postgres-backup-image",
      ].sort(),
    );
    for (const b of builds) expect(b.inputs.platforms).toEqual(platforms);
  });

  test("each Deployment runs its build's digest reference, not a tag", () => {
    for (const name of ["audit-event-generator", "event-audit-dashboard"]) {
      expect(containerImages(resources, "Deployment", name)).toEqual([
        `ghcr.io/auditflow/${name}@[unknown until apply]`,
      ]);
    }
  });

  test("the backup CronJobs run the built backup image by digest", () => {
    const cronjobs = ofKind(resources, "CronJob");
    expect(cronjobs).toHaveLength(2);
    for (const c of cronjobs)
      expect(containerImages(resources, "CronJob", c.name)).toEqual([
        "ghcr.io/auditflow/postgres-backup@[unknown until apply]",
      ]);
  });

  test("the builds are tagged with the commit and the release, and pushed", () => {
    const b = resources.find((r) => r.type === BUILD && r.name === "audit-log-analysis-image")!;
    expect(b.inputs.tags).toEqual([
      expect.stringMatching(/^ghcr\.io\/auditflow\/audit-log-analysis:sha-[0-9a-f]{12}$/),
      expect.stringMatching(/^ghcr\.io\/auditflow\/audit-log-analysis:\d+\.\d+\.\d+/),
    ]);
    expect(b.inputs.push).toBe(true);
  });
});

test("in preview the services' image references stay unknown until the images are built", async () => {
  const { resources } = await planStack("dev", {
    preview: true,
    overrides: { services: builtServices("dev") },
  });
  expect(containerImages(resources, "Deployment", "notification-service")).toEqual([
    "[unknown until apply]",
  ]);
});

test("prod's pack refuses a pulled image whose registry lists no arm64 variant", async () => {
  const { resources } = await planStack("prod", {
    registry: (image) =>
      image.includes("/redis:")
        ? [{ os: "linux", architecture: "amd64" }]
        : [
            { os: "linux", architecture: "amd64" },
            { os: "linux", architecture: "arm64" },
          ],
  });
  const report = await runPack(resources.map(toPlanned), { stack: "prod" });
  const found = report.violations.filter((v) => v.policy === "image-architectures");
  expect(found).toHaveLength(1);
  expect(found[0]!.enforcement).toBe("mandatory");
  expect(found[0]!.message).toMatch(
    /pulled image docker\.io\/library\/redis:7\.4\.2-alpine3\.21@sha256:[0-9a-f]{64} lacks linux\/arm64/,
  );
});
