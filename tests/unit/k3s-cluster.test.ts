import * as pulumi from "@pulumi/pulumi";
import type { K3sClusterArgs } from "../../components/cluster/k3s-cluster";
import type { RecordedResource } from "../../scripts/lib/mock-run";

const nodes = [
  { name: "s1", address: "10.0.0.1", arch: "arm64", role: "server" },
  { name: "s2", address: "10.0.0.2", arch: "arm64", role: "server" },
  { name: "s3", address: "10.0.0.3", arch: "arm64", role: "server" },
  { name: "a1", address: "10.0.0.4", arch: "amd64", role: "agent" },
  { name: "a2", address: "10.0.0.5", arch: "amd64", role: "agent" },
] as const;

const S3_SECRET = "S3-SECRET-KEY-VALUE";
const base: K3sClusterArgs = {
  nodes,
  k3sVersion: "v1.31.6+k3s1",
  sshUser: "ops",
  sshPrivateKey: pulumi.secret("PRIVATE-KEY"),
  apiAddress: "k3s.example.internal",
  adminCidrs: ["192.168.1.0/24"],
  installerSha256: "a".repeat(64),
  vip: { address: "10.0.0.10", interface: "eth0", servicesRange: "10.0.0.200-10.0.0.220" },
  etcdSnapshots: {
    schedule: "0 */6 * * *",
    retention: 10,
    s3: {
      endpoint: "https://s3.example.internal:9000",
      bucket: "backups",
      folder: "prod/etcd",
      accessKeyId: "etcd-writer",
    },
  },
  etcdS3SecretKey: pulumi.secret(S3_SECRET),
  // A fixed clock, so that two plans differ only in what the test changes.
  now: () => Date.UTC(2026, 0, 1),
};

/** One plan of the component under the mock runtime, in its own module registry. */
async function plan(args: K3sClusterArgs): Promise<RecordedResource[]> {
  let resources: RecordedResource[] = [];
  await jest.isolateModulesAsync(async () => {
    const { runProgram } = await import("../../scripts/lib/mock-run");
    const { K3sCluster } = await import("../../components/cluster/k3s-cluster");
    const result = await runProgram({
      stack: "test",
      program: () => new K3sCluster("k3s", args),
    });
    resources = result.resources;
  });
  return resources;
}

const commands = (rs: RecordedResource[]) =>
  rs.filter((r) => r.type === "command:remote:Command" || r.type === "command:local:Command");
const byName = (rs: RecordedResource[]) => new Map(rs.map((r) => [r.name, r]));
const stdin = (r: RecordedResource) => String(r.inputs.stdin ?? "");
/** The value a command's stdin exports for NAME (undoing the single-quote escaping). */
const envOf = (r: RecordedResource, name: string): string => {
  const m = new RegExp(`^export ${name}='((?:[^']|'\\\\'')*)'$`, "ms").exec(stdin(r));
  if (!m) throw new Error(`${r.name}: no ${name} in stdin`);
  return m[1]!.replace(/'\\''/g, "'");
};

describe("K3sCluster upgrades", () => {
  let before: RecordedResource[];
  let after: RecordedResource[];
  beforeAll(async () => {
    before = await plan(base);
    after = await plan({ ...base, k3sVersion: "v1.32.3+k3s1" });
  });

  test("a version bump keeps every resource (nothing created or deleted, so no uninstall runs)", () => {
    expect(after.map((r) => r.urn).sort()).toEqual(before.map((r) => r.urn).sort());
  });

  test("a version bump changes only the stdin of each node's drain, install and ready commands", () => {
    const old = byName(commands(before));
    const changed = commands(after).filter(
      (r) => JSON.stringify(r.inputs) !== JSON.stringify(old.get(r.name)!.inputs),
    );
    const expected = nodes.flatMap((n) =>
      ["drain", "install", "ready"].map((s) => `k3s-${n.name}-${s}`),
    );
    expect(changed.map((r) => r.name).sort()).toEqual(expected.sort());
    for (const r of changed) {
      const o = old.get(r.name)!;
      const { stdin: s1, ...rest1 } = r.inputs;
      const { stdin: s0, ...rest0 } = o.inputs;
      // connection and triggers are the inputs @pulumi/command replaces on; neither moves.
      expect(rest1).toEqual(rest0);
      expect(s1).not.toEqual(s0);
      expect(String(s1)).toContain("v1.32.3+k3s1");
      // The update path runs: `update` is set (without it a change would rerun `create`).
      expect(r.inputs.update).toBe(r.inputs.create);
    }
  });

  test("only `triggers` would replace a command, no command that deletes has triggers, and only install deletes (the uninstall)", () => {
    for (const r of commands(after)) {
      // @pulumi/command 1.2.1's SDK itself registers every Command with replaceOnChanges
      // ["triggers[*]"]: any change of triggers replaces (runs delete, then create), whatever
      // `update` says. So a command with a delete must never have triggers.
      expect(r.request.replaceOnChanges).toEqual(["triggers[*]"]);
      expect(r.request.deleteBeforeReplace).toBe(false);
      if (r.inputs.triggers !== undefined) expect(r.inputs.delete).toBeUndefined();
      if (r.name.endsWith("-install")) {
        expect(r.inputs.delete).toMatch(/k3s(-agent)?-uninstall\.sh$/);
        expect(r.inputs.triggers).toBeUndefined();
      } else {
        expect(r.inputs.delete).toBeUndefined();
      }
    }
    for (const step of ["drain", "install", "ready", "prep"]) {
      for (const r of commands(after).filter((c) => c.name.endsWith(`-${step}`)))
        expect(r.inputs.triggers).toBeUndefined();
    }
  });

  test("nodes are changed one at a time: servers in order, then agents, each drain waiting for the previous node's ready", () => {
    const rs = byName(commands(after));
    const order = ["s1", "s2", "s3", "a1", "a2"];
    order.forEach((n, i) => {
      const drain = rs.get(`k3s-${n}-drain`)!;
      const install = rs.get(`k3s-${n}-install`)!;
      const ready = rs.get(`k3s-${n}-ready`)!;
      expect(install.request.dependencies).toContain(drain.urn);
      expect(ready.request.dependencies).toContain(install.urn);
      if (i > 0)
        expect(drain.request.dependencies).toContain(rs.get(`k3s-${order[i - 1]}-ready`)!.urn);
      // ...and on nothing of a later node.
      for (const later of order.slice(i + 1))
        for (const r of [drain, install, ready])
          expect(r.request.dependencies.filter((u) => u.includes(`k3s-${later}-`))).toEqual([]);
      // drain and ready run on the first server (agents hold no admin credentials).
      expect((drain.inputs.connection as { host: string }).host).toBe("10.0.0.1");
      expect((install.inputs.connection as { host: string }).host).toBe(
        nodes.find((x) => x.name === n)!.address,
      );
    });
  });

  test("the join token, the SSH key and the snapshot store's key never appear in command text; stdin holding them is secret", () => {
    const token = String(
      after.find((r) => r.type === "random:index/randomPassword:RandomPassword")!.state.result,
    );
    expect(token).toMatch(/^mock-/);
    for (const r of commands(after)) {
      for (const field of ["create", "update", "delete"]) {
        const text = String(r.inputs[field] ?? "");
        for (const secret of [token, S3_SECRET, "PRIVATE-KEY"]) expect(text).not.toContain(secret);
      }
      if (r.type === "command:remote:Command") expect(r.secretPaths).toContain("connection");
      if (stdin(r).includes(token) || stdin(r).includes(S3_SECRET)) {
        expect(r.name).toMatch(/-install$/);
        expect(r.secretPaths).toContain("stdin");
      }
    }
    const serverInstall = byName(after).get("k3s-s1-install")!;
    expect(stdin(serverInstall)).toContain(token);
    expect(stdin(serverInstall)).toContain(S3_SECRET);
    expect(stdin(byName(after).get("k3s-a1-install")!)).not.toContain(S3_SECRET);
  });
});

describe("K3sCluster air-gapped", () => {
  const files = (v: string, d: string) => ({
    binary: `/srv/k3s/${v}/k3s`,
    binarySha256: d.repeat(64),
    images: `/srv/k3s/${v}/k3s-airgap-images.tar.zst`,
    imagesSha256: d.repeat(64),
  });
  const airgap = (v: string, d: string): K3sClusterArgs => ({
    ...base,
    k3sVersion: v,
    airgap: { installer: `/srv/k3s/${v}/install.sh`, arm64: files(v, d), amd64: files(v, "e") },
  });

  test("each node gets the binary, images and installer of its architecture by CopyToRemote before its drain, and the install checks them", async () => {
    const rs = byName(await plan(airgap("v1.31.6+k3s1", "c")));
    for (const n of nodes) {
      const install = rs.get(`k3s-${n.name}-install`)!;
      expect(envOf(install, "K3S_BINARY_SHA256")).toBe((n.arch === "arm64" ? "c" : "e").repeat(64));
      expect(envOf(install, "AIRGAP_IMAGES_NAME")).toBe("k3s-airgap-images.tar.zst");
      for (const what of ["binary", "images", "installer"]) {
        const copy = rs.get(`k3s-${n.name}-airgap-${what}`)!;
        expect(copy.type).toBe("command:remote:CopyToRemote");
        expect((copy.inputs.connection as { host: string }).host).toBe(n.address);
        expect(rs.get(`k3s-${n.name}-drain`)!.request.dependencies).toContain(copy.urn);
      }
      expect(envOf(install, "AIRGAP_BINARY")).toBe(
        String(rs.get(`k3s-${n.name}-airgap-binary`)!.inputs.remotePath),
      );
    }
  });

  test("an air-gapped version bump with new files keeps every resource and changes only the drain, install and ready commands' stdin (a copy may change only its source)", async () => {
    const before = await plan(airgap("v1.31.6+k3s1", "c"));
    const after = await plan(airgap("v1.32.3+k3s1", "d"));
    expect(after.map((r) => r.urn).sort()).toEqual(before.map((r) => r.urn).sort());
    const old = byName(before);
    const changed = after.filter(
      (x) => JSON.stringify(x.inputs) !== JSON.stringify(old.get(x.name)!.inputs),
    );
    expect(changed.map((r) => r.name)).toEqual(
      expect.arrayContaining(["k3s-s1-install", "k3s-a2-install"]),
    );
    for (const r of changed) {
      const o = old.get(r.name)!;
      const changedKeys = Object.keys(r.inputs).filter(
        (k) => JSON.stringify(r.inputs[k]) !== JSON.stringify(o.inputs[k]),
      );
      if (r.type === "command:remote:CopyToRemote") expect(changedKeys).toEqual(["source"]);
      else {
        expect(r.name).toMatch(/-(drain|install|ready)$/);
        expect(changedKeys).toEqual(["stdin"]);
        expect(r.inputs.update).toBe(r.inputs.create);
      }
    }
    for (const r of commands(after))
      if (r.inputs.delete !== undefined) expect(r.inputs.triggers).toBeUndefined();
  });

  test("rejects air-gapped arguments that miss a node's architecture or a digest, naming them", () => {
    const { K3sCluster } = jest.requireActual(
      "../../components/cluster/k3s-cluster",
    ) as typeof import("../../components/cluster/k3s-cluster");
    const a = airgap("v1.31.6+k3s1", "c");
    expect(() => new K3sCluster("k", { ...a, airgap: { ...a.airgap!, amd64: undefined } })).toThrow(
      /airgap.amd64 is required: a node has arch amd64/,
    );
    expect(
      () =>
        new K3sCluster("k", {
          ...a,
          airgap: { ...a.airgap!, arm64: { ...a.airgap!.arm64!, imagesSha256: "x" } },
        }),
    ).toThrow(/airgap.arm64.imagesSha256 must be 64/);
    expect(() => new K3sCluster("k", { ...a, installerSha256: undefined })).toThrow(
      /installerSha256 is required with airgap/,
    );
  });
});

describe("K3sCluster configuration", () => {
  let rs: RecordedResource[];
  beforeAll(async () => {
    rs = await plan(base);
  });

  test("the first server initialises etcd, the others join through the VIP, and every server gets the audit log, snapshots and the VIP", () => {
    const config = (n: string) => envOf(byName(rs).get(`k3s-${n}-install`)!, "K3S_CONFIG");
    const [s1, s2, a1] = [config("s1"), config("s2"), config("a1")];
    expect(s1).toContain("cluster-init: true");
    expect(s2).toContain("server: https://10.0.0.10:6443");
    expect(a1).toContain("server: https://10.0.0.10:6443");
    expect(s2).not.toContain("cluster-init");
    for (const s of [s1, s2]) {
      expect(s).toContain("audit-policy-file=/etc/rancher/k3s/audit-policy.yaml");
      expect(s).toContain("etcd-s3-endpoint: s3.example.internal:9000");
      expect(s).toContain("etcd-s3-folder: prod/etcd");
      expect(s).toContain("etcd-snapshot-schedule-cron: 0 */6 * * *");
      expect(s).toMatch(/tls-san:\n\s+- k3s\.example\.internal\n\s+- 10\.0\.0\.10/);
    }
    for (const n of ["s1", "s3"])
      expect(envOf(byName(rs).get(`k3s-${n}-install`)!, "KUBE_VIP_MANIFEST")).toMatch(
        /- name: address\n\s+value: 10\.0\.0\.10/,
      );
    const agent = byName(rs).get("k3s-a1-install")!;
    expect(envOf(agent, "K3S_ROLE")).toBe("agent");
    expect(envOf(agent, "KUBE_VIP_MANIFEST")).toBe("");
    expect(envOf(agent, "AUDIT_POLICY")).toBe("");
    expect(a1).not.toContain("etcd-s3");
    expect(a1).toContain("container-log-max-files=5");
    expect(envOf(agent, "INSTALLER_URL")).toBe(
      "https://raw.githubusercontent.com/k3s-io/k3s/v1.31.6%2Bk3s1/install.sh",
    );
    expect(envOf(agent, "INSTALLER_SHA256")).toBe("a".repeat(64));
  });

  test("a node added to the stack joins through the VIP, never the first server's address; without a VIP nodes join the first server", async () => {
    const added = { name: "a3", address: "10.0.0.6", arch: "amd64", role: "agent" } as const;
    const lost = byName(await plan({ ...base, nodes: [...nodes, added] }));
    const a3 = envOf(lost.get("k3s-a3-install")!, "K3S_CONFIG");
    expect(a3).toContain("server: https://10.0.0.10:6443");
    expect(a3).not.toContain("10.0.0.1:");
    const noVip = byName(await plan({ ...base, vip: undefined }));
    for (const n of ["s2", "a1"])
      expect(envOf(noVip.get(`k3s-${n}-install`)!, "K3S_CONFIG")).toContain(
        "server: https://10.0.0.1:6443",
      );
  });

  test("each node is prepared before its drain, with a firewall that lists the nodes and servers", () => {
    const all = byName(rs);
    for (const n of nodes) {
      const prep = all.get(`k3s-${n.name}-prep`)!;
      const awaitBoot = all.get(`k3s-${n.name}-await-boot`)!;
      expect(all.get(`k3s-${n.name}-drain`)!.request.dependencies).toContain(awaitBoot.urn);
      expect(stdin(prep)).toContain(`export PI_CGROUPS='${n.arch === "arm64"}'`);
      expect(stdin(prep)).toContain(
        "elements = { 10.0.0.1, 10.0.0.2, 10.0.0.3, 10.0.0.4, 10.0.0.5 }",
      );
      expect(stdin(awaitBoot)).toContain(
        `export REQUIRED_KERNEL_ARGS='${n.arch === "arm64" ? "cgroup_memory=1 cgroup_enable=memory" : ""}'`,
      );
    }
    expect(stdin(all.get("k3s-s1-prep")!)).toContain("tcp dport 2379-2380 accept");
    expect(stdin(all.get("k3s-a1-prep")!)).not.toContain("2379");
  });

  test("the kubeconfig is re-read when the refresh period turns, and reading it never deletes anything", async () => {
    const later = await plan({ ...base, now: () => Date.UTC(2026, 1, 15) });
    const k0 = byName(rs).get("k3s-kubeconfig")!;
    const k1 = byName(later).get("k3s-kubeconfig")!;
    expect(k1.inputs.triggers).not.toEqual(k0.inputs.triggers);
    expect(k1.inputs.delete).toBeUndefined();
    expect(k1.inputs.logging).toBe("none");
  });

  test("rejects bad arguments, naming them", () => {
    const { K3sCluster } = jest.requireActual(
      "../../components/cluster/k3s-cluster",
    ) as typeof import("../../components/cluster/k3s-cluster");
    const agentsOnly = { ...base, nodes: [nodes[3]] };
    expect(() => new K3sCluster("k", agentsOnly)).toThrow(/at least one node with role "server"/);
    expect(() => new K3sCluster("k", { ...base, k3sVersion: "1.31" })).toThrow(
      /k3sVersion "1.31" must look like/,
    );
    expect(() => new K3sCluster("k", { ...base, adminCidrs: [] })).toThrow(/adminCidrs must list/);
    expect(() => new K3sCluster("k", { ...base, installerSha256: "abc" })).toThrow(
      /installerSha256 must be 64/,
    );
    expect(
      () =>
        new K3sCluster("k", {
          ...base,
          nodes: [{ name: "x", address: "node.example", arch: "amd64", role: "server" }],
        }),
    ).toThrow(/node x: address "node.example" must be an IPv4 address/);
    expect(() => new K3sCluster("k", { ...base, etcdS3SecretKey: undefined })).toThrow(
      /etcdS3SecretKey is required/,
    );
  });
});
