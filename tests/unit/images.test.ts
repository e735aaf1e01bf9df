/**
 * The backup image's definition agrees with the versions the program deploys: it is built on the
 * server's own PostgreSQL image (so pg_dump is never older than the server), adds what the backup
 * scripts call, and its pinned tag names that PostgreSQL version and the age release it installs.
 * The Dockerfile is read with dockerfile-ast (the parser behind VS Code's Dockerfile support), so
 * the tests see instructions and their arguments, not lines that happen to look alike.
 */
import * as fs from "fs";
import * as path from "path";
import { DockerfileParser } from "dockerfile-ast";
import { ownImages, platformImages } from "../../components/versions";

const dockerfile = DockerfileParser.parse(
  fs.readFileSync(
    path.resolve(__dirname, "../../components/images/postgres-backup/Dockerfile"),
    "utf8",
  ),
);
/** The arguments of every instruction with this keyword, in order. */
const args = (keyword: string) =>
  dockerfile
    .getInstructions()
    .filter((i) => i.getKeyword() === keyword)
    .map((i) => i.getArguments().map((a) => a.getValue()));

test("the backup image is one stage built on the server's PostgreSQL image", () => {
  expect(dockerfile.getFROMs().map((f) => f.getImage())).toEqual([platformImages.postgres]);
});

test("the backup image adds age 1.2 and curl with apk, and runs as the postgres user (uid 70)", () => {
  const runs = args("RUN");
  expect(runs).toHaveLength(1);
  const firstCommand = runs[0]!.slice(0, runs[0]!.indexOf("&&"));
  expect(firstCommand).toEqual(["apk", "add", "--no-cache", "'age~1.2'", "curl"]);
  expect(args("USER")).toEqual([["70:70"]]);
});

test("the backup image's tag names the PostgreSQL version and the age release it carries", () => {
  const server = /:(\d+\.\d+)-/.exec(platformImages.postgres)?.[1];
  expect(server).toMatch(/^\d+\.\d+$/);
  const tag = ownImages.postgresBackup.contentTag;
  expect(tag.startsWith(`${server}-age1.2`)).toBe(true);
  expect(ownImages.postgresBackup.prebuilt.endsWith(`:${tag}`)).toBe(true);
  // The build command in the Dockerfile's header pushes exactly the prebuilt tag versions.ts pins.
  const comments = dockerfile.getComments().map((c) => c.getContent());
  expect(comments.some((c) => c.includes(`-t ${ownImages.postgresBackup.prebuilt} --push`))).toBe(
    true,
  );
});
