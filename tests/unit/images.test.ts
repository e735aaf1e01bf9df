/**
 * The backup image's definition agrees with the versions the program deploys: it is built on the
 * server's own PostgreSQL image (so pg_dump is never older than the server), adds what the backup
 * scripts call, and its pinned tag names that PostgreSQL version and the age release it installs.
 */
import * as fs from "fs";
import * as path from "path";
import { ownImages, platformImages } from "../../components/versions";

const dockerfile = fs.readFileSync(
  path.resolve(__dirname, "../../components/images/postgres-backup/Dockerfile"),
  "utf8",
);

test("the backup image is built on the server's PostgreSQL image", () => {
  expect(/^FROM (\S+)$/m.exec(dockerfile)?.[1]).toBe(platformImages.postgres);
});

test("the backup image adds age and curl, and runs as the postgres user (uid 70)", () => {
  expect(dockerfile).toMatch(/^RUN apk add --no-cache 'age~1\.2' curl\b/m);
  expect(dockerfile).toMatch(/^USER 70:70$/m);
});

test("the backup image's tag names the PostgreSQL version and the age release it carries", () => {
  const server = /:(\d+\.\d+)-/.exec(platformImages.postgres)?.[1];
  const tag = ownImages.postgresBackup.contentTag;
  expect(server).toBeDefined();
  expect(tag?.startsWith(`${server}-age1.2`)).toBe(true);
  expect(ownImages.postgresBackup.prebuilt.endsWith(`:${tag}`)).toBe(true);
  expect(dockerfile).toContain(ownImages.postgresBackup.prebuilt);
});
