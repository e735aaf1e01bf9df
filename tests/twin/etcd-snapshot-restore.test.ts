/**
 * The parts of README "etcd snapshots" restore procedure that can run here, for real:
 *   - a snapshot of a real etcd v3.6.5 holding a whole stack (the cluster twin's etcd with dev
 *     applied), taken with etcdctl v3.6.5 through etcd's snapshot API and stored the way K3s stores
 *     it (a zip, with `etcd-snapshot-compress`, under `etcd-s3-folder` of the bucket) in a Versity S3
 *     Gateway that checks SigV4 signatures; the upload is the test's (K3s does it on a node);
 *   - the README's download command, with the store's address, bucket and folder read from the
 *     config.yaml K3sCluster renders for a server: the file comes back byte for byte; a wrong key is
 *     refused by the store;
 *   - etcd's own restore (etcdutl v3.6.5 `snapshot restore`, the step K3s' cluster reset performs
 *     with etcd's snapshot library) into a new data directory, and an etcd v3.6.5 started on it
 *     serving every Deployment, StatefulSet, ConfigMap and Secret of the stack; a damaged snapshot
 *     is refused by its checksum and no member is restored.
 * Not run: K3s itself (`k3s etcd-snapshot`, `k3s server --cluster-reset`, its S3 client), systemd.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from "child_process";
import { createHash } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { buildBinaries } from "../../scripts/twin/lib/cluster";
import { runTwin, TwinSession } from "../../scripts/twin/lib/twin";
import { freePort, S3Store, startS3Store, waitFor } from "../conformance/servers";
import { k3sConfigObject } from "../../components/cluster/k3s-config";

jest.setTimeout(300_000);

const REPO = path.resolve(__dirname, "../..");
const BUCKET = "auditflow-backups";
const PREFIX = "auditflow/dev";
const ACCESS_KEY = "auditflow-etcd";
const SECRET = "etcd-Secret/with+slash";
const NODE = "pi-dev-1";

let session: TwinSession;
let s3: S3Store;
let bin: string;
let dir: string;
let config: Record<string, unknown>;
let snapshotName: string;
let etcd: ChildProcess | undefined;
let ok = false;

const tool = (name: string, args: string[]) =>
  spawnSync(path.join(bin, name), args, { encoding: "utf8", timeout: 60_000 });
const sha256 = (f: string) => createHash("sha256").update(fs.readFileSync(f)).digest("hex");

beforeAll(async () => {
  bin = buildBinaries().etcd;
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "etcd-restore-"));
  s3 = await startS3Store("s3-etcd-", { accessKeyId: ACCESS_KEY, secretAccessKey: SECRET });
  s3.createBucket(BUCKET);
  const r = await runTwin({
    stack: "dev",
    keep: true,
    logDir: path.join(REPO, "out/twin/dev-etcd-restore"),
  });
  session = r.session!;
  expect(r.problems).toEqual([]);
  // The first server's config.yaml as K3sCluster renders it, with this store as the target.
  config = k3sConfigObject(
    {
      role: "server",
      nodeName: NODE,
      clusterInit: true,
      tlsSans: [],
      containerLogMaxSize: "10Mi",
      containerLogMaxFiles: 5,
      etcd: {
        schedule: "0 */6 * * *",
        retention: 4,
        s3: {
          endpoint: s3.endpoint,
          bucket: BUCKET,
          folder: `${PREFIX}/etcd`,
          region: "us-east-1",
          accessKeyId: ACCESS_KEY,
        },
      },
    },
    { token: "unused", s3SecretKey: SECRET },
  );
});

afterAll(async () => {
  etcd?.kill("SIGTERM");
  await session?.stop(ok);
  await s3?.stop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

/** The object's URL from config.yaml's etcd-s3 settings (plain http where etcd-s3-insecure). */
function objectUrl(name: string): string {
  const scheme = config["etcd-s3-insecure"] === true ? "http" : "https";
  return `${scheme}://${config["etcd-s3-endpoint"]}/${config["etcd-s3-bucket"]}/${config["etcd-s3-folder"]}/${name}`;
}

/** The README's download command; the credentials come from a curl config file (mode 0600). */
function download(name: string, to: string, secret = SECRET) {
  const creds = path.join(dir, "s3.curlrc");
  fs.writeFileSync(creds, `user = "${config["etcd-s3-access-key"]}:${secret}"\n`, { mode: 0o600 });
  return spawnSync(
    "curl",
    [
      "-fsS",
      "--aws-sigv4",
      `aws:amz:${config["etcd-s3-region"]}:s3`,
      "-H",
      "x-amz-content-sha256: UNSIGNED-PAYLOAD",
      "-K",
      creds,
      "-o",
      to,
      objectUrl(name),
    ],
    { encoding: "utf8", timeout: 30_000 },
  );
}

test("a snapshot of etcd holding the dev stack, stored as K3s stores it, comes back byte for byte with the README's command", () => {
  expect(config["etcd-snapshot-compress"]).toBe(true);
  const stamp = Math.floor(Date.now() / 1000);
  const raw = path.join(dir, `etcd-snapshot-${NODE}-${stamp}`);
  const save = tool("etcdctl", [
    "--endpoints",
    session.cluster.etcdEndpoint,
    "snapshot",
    "save",
    raw,
  ]);
  expect(save.stdout + save.stderr).toContain(`Snapshot saved at ${raw}`);
  expect(save.status).toBe(0);
  snapshotName = `${path.basename(raw)}.zip`;
  const zipped = path.join(dir, "upload", snapshotName);
  fs.mkdirSync(path.dirname(zipped));
  execFileSync("zip", ["-jq", zipped, raw]);
  // What K3s' etcd-s3 upload does on a node: a signed PUT under the folder.
  execFileSync(
    "curl",
    [
      "-fsS",
      "--aws-sigv4",
      "aws:amz:us-east-1:s3",
      "-H",
      `x-amz-content-sha256: ${sha256(zipped)}`,
      "-K",
      "-",
      "-T",
      zipped,
      objectUrl(snapshotName),
    ],
    { input: `user = "${ACCESS_KEY}:${SECRET}"\n`, encoding: "utf8" },
  );
  expect(fs.existsSync(path.join(s3.root, BUCKET, PREFIX, "etcd", snapshotName))).toBe(true);

  const got = path.join(dir, snapshotName);
  const d = download(snapshotName, got);
  expect(d.stderr).toBe("");
  expect(d.status).toBe(0);
  expect(sha256(got)).toBe(sha256(zipped));
});

test("the store refuses the download with a wrong secret key", () => {
  const d = download(snapshotName, path.join(dir, "refused.zip"), "not-the-key");
  expect(d.status).toBe(22);
  expect(d.stderr).toMatch(/The requested URL returned error: 403/);
});

test("etcdutl restores the downloaded snapshot into a new data directory and etcd v3.6.5 serves the dev stack from it", async () => {
  const db = path.join(dir, "snapshot.db");
  const out = path.join(dir, "unzipped");
  execFileSync("unzip", ["-q", path.join(dir, snapshotName), "-d", out]);
  fs.renameSync(path.join(out, snapshotName.replace(/\.zip$/, "")), db);
  const status = tool("etcdutl", ["snapshot", "status", db, "-w", "json"]);
  expect(status.status).toBe(0);
  expect(JSON.parse(status.stdout).totalKey).toBeGreaterThan(100);

  const [client, peer] = [await freePort(), await freePort()];
  const peerUrl = `http://127.0.0.1:${peer}`;
  const data = path.join(dir, "restored");
  const restore = tool("etcdutl", [
    "snapshot",
    "restore",
    db,
    "--name",
    NODE,
    "--data-dir",
    data,
    "--initial-cluster",
    `${NODE}=${peerUrl}`,
    "--initial-advertise-peer-urls",
    peerUrl,
  ]);
  expect(restore.status).toBe(0);
  etcd = spawn(
    path.join(bin, "etcd"),
    [
      `--name=${NODE}`,
      `--data-dir=${data}`,
      `--listen-client-urls=http://127.0.0.1:${client}`,
      `--advertise-client-urls=http://127.0.0.1:${client}`,
      `--listen-peer-urls=${peerUrl}`,
      `--initial-advertise-peer-urls=${peerUrl}`,
      "--log-level=warn",
    ],
    { stdio: "ignore" },
  );
  const endpoint = `http://127.0.0.1:${client}`;
  await waitFor("the restored etcd to answer", () => {
    const h = tool("etcdctl", ["--endpoints", endpoint, "endpoint", "health"]);
    if (h.status !== 0) throw new Error(h.stderr);
    return true;
  });
  const keys = new Set(
    tool("etcdctl", ["--endpoints", endpoint, "get", "/registry/", "--prefix", "--keys-only"])
      .stdout.split("\n")
      .filter(Boolean),
  );
  const plural: Record<string, string> = {
    Deployment: "deployments",
    StatefulSet: "statefulsets",
    ConfigMap: "configmaps",
    Secret: "secrets",
  };
  const expected = session.rendered.objects
    .filter((o) => plural[o.kind])
    .map((o) => `/registry/${plural[o.kind]}/${o.metadata.namespace}/${o.metadata.name}`);
  expect(expected.length).toBeGreaterThan(20);
  expect(expected.filter((k) => !keys.has(k))).toEqual([]);
});

test("etcdutl refuses a damaged snapshot with etcd's checksum error and restores no member (no WAL written)", () => {
  const db = path.join(dir, "snapshot.db");
  const damaged = path.join(dir, "damaged.db");
  const bytes = fs.readFileSync(db);
  const middle = Math.floor(bytes.length / 2);
  bytes[middle] = bytes[middle]! ^ 0xff;
  fs.writeFileSync(damaged, bytes);
  const data = path.join(dir, "restored-damaged");
  const r = tool("etcdutl", ["snapshot", "restore", damaged, "--data-dir", data]);
  expect(r.status).not.toBe(0);
  expect(r.stderr).toMatch(/expected sha256/);
  expect(fs.existsSync(path.join(data, "member/wal"))).toBe(false);
  ok = true;
});
