/** The commit and release built images are tagged with, from CI's environment or the checkout. */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { buildIdentity, imageTags } from "../../infra/build-identity";

const root = path.resolve(__dirname, "../..");
const sha = "0123456789abcdef0123456789abcdef01234567";

test("CI's commit and the release tag become the image tags sha-<12> and the semver", () => {
  const r = buildIdentity({ GITHUB_SHA: sha, AUDITFLOW_RELEASE: "v1.4.0" }, root);
  expect(r).toEqual({ ok: true, identity: { gitSha: sha, release: "1.4.0" } });
  if (r.ok) expect(imageTags(r.identity)).toEqual(["sha-0123456789ab", "1.4.0"]);
});

test("without CI's variables the checkout's HEAD and package.json's version are used", () => {
  const r = buildIdentity({}, root);
  const version = (
    JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8")) as { version: string }
  ).version;
  expect(r.ok && r.identity.release).toBe(version);
  expect(r.ok && r.identity.gitSha).toMatch(/^[0-9a-f]{40}$/);
});

test("a build metadata suffix becomes a valid tag", () => {
  expect(imageTags({ gitSha: sha, release: "1.4.0+build.7" })[1]).toBe("1.4.0_build.7");
});

test("a malformed commit or release is refused, naming the variable to set", () => {
  const r = buildIdentity({ AUDITFLOW_GIT_SHA: "abc", AUDITFLOW_RELEASE: "1.4" }, root);
  expect(r.ok ? [] : r.problems).toEqual([
    { key: "AUDITFLOW_GIT_SHA", message: 'must be a full 40-digit commit SHA (got "abc")' },
    {
      key: "AUDITFLOW_RELEASE",
      message: 'must be a semantic version such as 1.4.0 or v1.4.0 (got "1.4")',
    },
  ]);
});

test("outside a git checkout and without GITHUB_SHA the commit is reported missing", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "identity-"));
  fs.writeFileSync(path.join(dir, "package.json"), '{"version":"1.0.0"}');
  const r = buildIdentity({ GIT_CEILING_DIRECTORIES: os.tmpdir() }, dir);
  expect(r.ok ? [] : r.problems.map((p) => p.key)).toEqual(["AUDITFLOW_GIT_SHA"]);
});
