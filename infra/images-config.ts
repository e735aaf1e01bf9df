/**
 * Stack config of the images the program builds: the `images` section (registry, push, cache, the
 * backup image) and a service's `build`, with the rules that span them. Pure: no Pulumi runtime.
 */
import * as fs from "fs";
import * as path from "path";
import { z } from "zod";
import { parseImage } from "../components/lib/image";
import { ownImages } from "../components/versions";

/** The project root: build contexts are relative to it. */
export const PROJECT_ROOT = path.resolve(__dirname, "..");

const relativePath = z
  .string()
  .min(1)
  .regex(/^(?!\/)(?!.*(^|\/)\.\.(\/|$))[A-Za-z0-9._/-]+$/, {
    error: "must be a path relative to the project root, without '..'",
  });

const secretLookingArg = /(PASSWORD|PASSWD|SECRET|TOKEN|PRIVATE_?KEY|API_?KEY|CREDENTIAL)/i;

/** How to build an image: context directory, Dockerfile, build arguments, target stage. */
export const buildSchema = z.strictObject({
  context: relativePath,
  dockerfile: relativePath.optional(),
  args: z
    .record(
      z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, {
        error: "build argument names must match [A-Za-z_][A-Za-z0-9_]*",
      }),
      z.string(),
    )
    .optional(),
  target: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, { error: "must be a Dockerfile stage name" })
    .optional(),
});
export type BuildSpec = z.infer<typeof buildSchema>;

const image = z.string().superRefine((ref, ctx) => {
  const parsed = parseImage(ref);
  if ("problem" in parsed) ctx.addIssue({ code: "custom", message: parsed.problem });
});

/** Where built images go and how; the registry password is the secret `registryPassword`. */
export const imagesSchema = z.strictObject({
  registry: z.string().regex(/^[a-z0-9.-]+(?::\d+)?(?:\/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$/, {
    error: "must be a registry host with an optional path, e.g. ghcr.io/auditflow",
  }),
  username: z.string().min(1).optional(),
  push: z.boolean({ error: "must be true or false" }),
  cache: z.boolean({ error: "must be true or false" }).optional(),
  checkPulledImages: z.boolean({ error: "must be true or false" }).optional(),
  postgresBackup: z
    .strictObject({ image: image.optional(), build: buildSchema.optional() })
    .optional(),
});
export type ImagesConfig = z.infer<typeof imagesSchema>;

/** The backup image's build when the stack builds it (the default once `images` is set). */
export function backupBuild(images: ImagesConfig | undefined): BuildSpec | undefined {
  if (!images || images.postgresBackup?.image) return undefined;
  return images.postgresBackup?.build ?? { context: ownImages.postgresBackup.context };
}

type Issue = (path: (string | number)[], message: string) => void;
const at = (o: unknown, k: string): unknown =>
  typeof o === "object" && o !== null ? (o as Record<string, unknown>)[k] : undefined;

/** A build's context and Dockerfile exist; its arguments carry no secrets. */
function buildRules(b: BuildSpec, where: (string | number)[], issue: Issue): void {
  const context = path.resolve(PROJECT_ROOT, b.context);
  if (!fs.existsSync(context) || !fs.statSync(context).isDirectory()) {
    issue([...where, "context"], `"${b.context}" is not a directory of the project`);
    return;
  }
  const dockerfile = b.dockerfile ?? path.join(b.context, "Dockerfile");
  if (!fs.existsSync(path.resolve(PROJECT_ROOT, dockerfile)))
    issue(
      [...where, b.dockerfile ? "dockerfile" : "context"],
      `has no Dockerfile at "${dockerfile}"`,
    );
  for (const k of Object.keys(b.args ?? {}))
    if (secretLookingArg.test(k))
      issue(
        [...where, "args", k],
        "looks like a secret; build arguments are recorded in the image, so secrets must not be build arguments",
      );
}

/**
 * Rules across `images`, the services' `image`/`build` and the cluster: runs on the raw config so
 * that a problem elsewhere does not hide these.
 */
export function imageRules(raw: Record<string, unknown>, issue: Issue): void {
  const parsedImages = imagesSchema.safeParse(raw.images);
  const images = parsedImages.success ? parsedImages.data : undefined;
  const services = Array.isArray(raw.services) ? (raw.services as unknown[]) : [];
  const builds: (string | number)[][] = [];
  services.forEach((s, i) => {
    const b = buildSchema.safeParse(at(s, "build"));
    if (at(s, "build") === undefined) return;
    if (at(s, "image") !== undefined)
      issue(["services", i, "build"], "give either image (a prebuilt image) or build, not both");
    builds.push(["services", i, "build"]);
    if (b.success) buildRules(b.data, ["services", i, "build"], issue);
  });
  const pb = at(raw.images, "postgresBackup");
  if (at(pb, "image") !== undefined && at(pb, "build") !== undefined)
    issue(["images", "postgresBackup"], "give either image (a prebuilt image) or build, not both");
  const backup = backupBuild(images);
  if (backup) {
    builds.push(["images", "postgresBackup"]);
    buildRules(backup, ["images", "postgresBackup", "build"], issue);
  }
  if (raw.images === undefined) {
    for (const b of builds)
      issue(
        ["images"],
        `is required when ${b.join(".")} is set: the registry to push to and whether to push`,
      );
    return;
  }
  if (!images) return;
  if (images.push) {
    if (!images.username) issue(["images", "username"], "is required when images.push is true");
    if (raw.registryPassword === undefined || raw.registryPassword === "")
      issue(
        ["registryPassword"],
        "is required when images.push is true: the registry token (pulumi config set --secret registryPassword)",
      );
  } else if (builds.length > 0 && at(raw.cluster, "provisioning") !== "render") {
    issue(
      ["images", "push"],
      "is false, but the cluster can only pull pushed images; set push: true, use prebuilt images, or render manifests (cluster.provisioning: render)",
    );
  }
}
