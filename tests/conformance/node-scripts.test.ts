/**
 * The K3s node scripts run for real in a Debian 12 root made by debootstrap (scripts/node-root.sh),
 * exactly as Pulumi sends them: each command's text and stdin come from the K3sCluster planned
 * under Pulumi's mocks. The root runs in its own mount, PID and network namespaces
 * (run-in-node-root.sh says exactly what a missing init changes). The firewall is then probed
 * from other network namespaces over veth links. No traffic leaves this machine's namespaces.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from "child_process";
import { createHash } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import type { K3sClusterArgs } from "../../components/cluster/k3s-cluster";
import { K3S_PORTS } from "../../components/cluster/firewall";
import type { RecordedResource } from "../../scripts/lib/mock-run";

jest.setTimeout(120_000);

const repo = path.join(__dirname, "../..");
const runner = path.join(__dirname, "run-in-node-root.sh");
const root = execFileSync("bash", [path.join(repo, "scripts/node-root.sh"), "--path"], {
  encoding: "utf8",
}).trim();
if (!fs.existsSync(path.join(root, ".auditflow-complete")))
  throw new Error(`no Debian root at ${root}: run scripts/node-root.sh first (CI's .ci/run does)`);

// Namespaces and TEST-NET-2 addresses (198.18.0.0/15, for benchmarks): never routed anywhere.
const tag = `af${process.pid}`;
const ns = {
  node: `${tag}-node`,
  peer: `${tag}-peer`,
  admin: `${tag}-admin`,
  stranger: `${tag}-str`,
};
const NODE = "198.18.0.1";
const PEER = "198.18.0.2"; // an agent of the same cluster
const ADMIN = "198.19.0.5"; // inside the admin network 198.19.0.0/24
const STRANGER = "198.18.2.2"; // neither a node nor in an admin network
const INSTALLER_PORT = 18080;

const ip = (...args: string[]) => execFileSync("ip", args, { stdio: "pipe" });
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "node-scripts-"));

function link(peerNs: string, nodeAddr: string, peerAddr: string, n: number) {
  ip(
    "link",
    "add",
    `${tag}a${n}`,
    "netns",
    ns.node,
    "type",
    "veth",
    "peer",
    "name",
    `${tag}b${n}`,
    "netns",
    peerNs,
  );
  ip("-n", ns.node, "addr", "add", `${nodeAddr}/24`, "dev", `${tag}a${n}`);
  ip("-n", peerNs, "addr", "add", `${peerAddr}/24`, "dev", `${tag}b${n}`);
  ip("-n", ns.node, "link", "set", `${tag}a${n}`, "up");
  ip("-n", peerNs, "link", "set", `${tag}b${n}`, "up");
}

/** The cluster under test: this root is server s1, the peer namespace is agent a1. */
const installer = fs.readFileSync(path.join(__dirname, "fixtures/k3s-installer-stand-in.sh"));
const installerSha = createHash("sha256").update(installer).digest("hex");
const args: K3sClusterArgs = {
  nodes: [
    { name: "s1", address: NODE, arch: "arm64", role: "server" },
    { name: "a1", address: PEER, arch: "amd64", role: "agent" },
  ],
  k3sVersion: "v1.31.6+k3s1",
  sshUser: "ops",
  sshPrivateKey: "test-key",
  adminCidrs: ["198.19.0.0/24"],
  installerUrl: `http://127.0.0.1:${INSTALLER_PORT}/install.sh`,
  installerSha256: installerSha,
  vip: { address: "198.18.0.10", interface: "eth0", servicesRange: "198.18.0.200-198.18.0.210" },
  etcdSnapshots: { schedule: "0 */6 * * *", retention: 4 },
  now: () => Date.UTC(2026, 0, 1),
};

async function plan(a: K3sClusterArgs): Promise<Map<string, RecordedResource>> {
  let rs: RecordedResource[] = [];
  await jest.isolateModulesAsync(async () => {
    const { runProgram } = await import("../../scripts/lib/mock-run");
    const { K3sCluster } = await import("../../components/cluster/k3s-cluster");
    rs = (await runProgram({ stack: "test", program: () => new K3sCluster("k3s", a) })).resources;
  });
  return new Map(rs.map((r) => [r.name, r]));
}

/** Runs a planned command in the root as Pulumi would over SSH: its `create` text, its stdin. */
function run(state: string, r: RecordedResource, cmdline?: string) {
  const res = spawnSync(
    "bash",
    [runner, root, state, ns.node, String(r.inputs.create), ...(cmdline ? [cmdline] : [])],
    { input: String(r.inputs.stdin), encoding: "utf8", timeout: 90_000 },
  );
  return { code: res.status, out: res.stdout, err: res.stderr };
}

const inRoot = (state: string, p: string) => path.join(state, "upper", p);

let planned: Map<string, RecordedResource>;
let listener: ChildProcess | undefined;
let http: ChildProcess | undefined;

beforeAll(async () => {
  for (const n of Object.values(ns)) ip("netns", "add", n);
  link(ns.peer, "198.18.0.1", PEER, 1);
  link(ns.admin, "198.19.0.1", ADMIN, 2);
  link(ns.stranger, "198.18.2.1", STRANGER, 3);
  // The probes target the node's address on the peer link: the others route through the node.
  ip("-n", ns.admin, "route", "add", "default", "via", "198.19.0.1");
  ip("-n", ns.stranger, "route", "add", "default", "via", "198.18.2.1");
  planned = await plan(args);
});

afterAll(() => {
  for (const p of [listener, http]) p?.kill();
  for (const n of Object.values(ns)) spawnSync("ip", ["netns", "del", n]);
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe("node-prep.sh on a Raspberry Pi root", () => {
  const state = path.join(tmp, "pi");
  const bootedWithArgs = path.join(tmp, "cmdline-after-reboot");

  beforeAll(() => {
    // What a Raspberry Pi OS image has and a plain Debian root lacks: the firmware's cmdline.txt,
    // a swap file in fstab and dphys-swapfile's settings.
    fs.mkdirSync(inRoot(state, "boot/firmware"), { recursive: true });
    fs.mkdirSync(inRoot(state, "etc"), { recursive: true });
    fs.writeFileSync(
      inRoot(state, "boot/firmware/cmdline.txt"),
      "console=serial0,115200 root=PARTUUID=abcd-02 rootwait\n",
    );
    fs.writeFileSync(
      inRoot(state, "etc/fstab"),
      fs.readFileSync(path.join(root, "etc/fstab"), "utf8") + "/var/swap none swap sw 0 0\n",
    );
    fs.writeFileSync(inRoot(state, "etc/dphys-swapfile"), "CONF_SWAPSIZE=100\n");
  });

  test("the first run hardens the node, loads the firewall and schedules the reboot for memory cgroups", () => {
    const r = run(state, planned.get("k3s-s1-prep")!);
    expect(r.err).not.toMatch(/error/i);
    expect(r.code).toBe(0);
    expect(r.out).toContain("node-prep: changed: /boot/firmware/cmdline.txt");
    expect(r.out).toContain("node-prep: reboot scheduled");
    expect(r.out).toMatch(/node-prep: \d+ change\(s\)\n$/);
    expect(fs.readFileSync(inRoot(state, "boot/firmware/cmdline.txt"), "utf8")).toBe(
      "console=serial0,115200 root=PARTUUID=abcd-02 rootwait cgroup_memory=1 cgroup_enable=memory\n",
    );
    expect(fs.readFileSync(inRoot(state, "var/log/auditflow-systemd-run.log"), "utf8")).toMatch(
      /^systemd-run --on-active=10s --unit=auditflow-reboot .* systemctl reboot\n$/,
    );
    expect(fs.readFileSync(inRoot(state, "etc/fstab"), "utf8")).toContain(
      "# auditflow: swap off for kubelet: /var/swap none swap sw 0 0",
    );
    expect(fs.readFileSync(inRoot(state, "etc/dphys-swapfile"), "utf8")).toBe("CONF_SWAPSIZE=0\n");
    for (const f of [
      "etc/ssh/sshd_config.d/10-auditflow.conf",
      "etc/nftables.d/auditflow.nft",
      "etc/fail2ban/jail.d/auditflow-sshd.local",
      "etc/apt/apt.conf.d/52auditflow-unattended-upgrades",
      "etc/systemd/journald.conf.d/10-auditflow.conf",
    ])
      expect([f, fs.existsSync(inRoot(state, f))]).toEqual([f, true]);
    // Units enabled for the next boot, as Debian's own systemctl reports.
    const enabled = spawnSync(
      "bash",
      [runner, root, state, ns.node, "systemctl is-enabled nftables fail2ban unattended-upgrades"],
      { encoding: "utf8" },
    );
    expect(enabled.stdout).toBe("enabled\nenabled\nenabled\n");
  });

  test("the hardened sshd refuses passwords and root, as sshd itself reports", () => {
    const r = spawnSync("bash", [runner, root, state, ns.node, "mkdir -p /run/sshd && sshd -T"], {
      encoding: "utf8",
    });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^passwordauthentication no$/m);
    expect(r.stdout).toMatch(/^permitrootlogin no$/m);
    expect(r.stdout).toMatch(/^kbdinteractiveauthentication no$/m);
    const f2b = spawnSync("bash", [runner, root, state, ns.node, "fail2ban-client -t"], {
      encoding: "utf8",
    });
    expect(f2b.status).toBe(0);
  });

  test("node-await-boot.sh fails until the node runs with the arguments, then passes", () => {
    const before = run(state, planned.get("k3s-s1-await-boot")!);
    expect(before.code).toBe(1);
    expect(before.err).toContain("the running kernel lacks cgroup_memory=1");
    // The reboot: the kernel now runs with what cmdline.txt says.
    fs.copyFileSync(inRoot(state, "boot/firmware/cmdline.txt"), bootedWithArgs);
    const after = run(state, planned.get("k3s-s1-await-boot")!, bootedWithArgs);
    expect(after.code).toBe(0);
    expect(after.out).toContain(
      "kernel arguments in effect (cgroup_memory=1 cgroup_enable=memory)",
    );
  });

  test("a second run after the reboot changes nothing and says so", () => {
    const r = run(state, planned.get("k3s-s1-prep")!, bootedWithArgs);
    expect(r.code).toBe(0);
    expect(r.out).toBe("node-prep: no change\n");
    // No second reboot was asked for.
    expect(
      fs.readFileSync(inRoot(state, "var/log/auditflow-systemd-run.log"), "utf8").split("\n"),
    ).toHaveLength(2);
  });

  describe("the firewall it loaded, probed from other namespaces", () => {
    const tcp = [22, 6443, 2379, 2380, 10250, 80, 443, 5432, 10251, 30080];
    const udp = [8472, 53, 8473];
    let results: Record<string, { tcp: number[]; udp: number[] }>;
    /** The node's ports that answer from a namespace. */
    const probe = (from: string): { tcp: number[]; udp: number[] } =>
      JSON.parse(
        execFileSync(
          "ip",
          ["netns", "exec", from, "python3", "-c", PROBE, JSON.stringify({ host: NODE, tcp, udp })],
          { encoding: "utf8", timeout: 60_000 },
        ),
      );

    beforeAll(async () => {
      // Listeners on every probed port in the node's namespace (TCP accepts, UDP echoes).
      listener = spawn(
        "ip",
        ["netns", "exec", ns.node, "python3", "-c", LISTENER, JSON.stringify({ tcp, udp })],
        {
          stdio: ["ignore", "pipe", "inherit"],
        },
      );
      await new Promise<void>((resolve, reject) => {
        listener!.stdout!.once("data", () => resolve());
        listener!.once("exit", (c) => reject(new Error(`listener exited ${c}`)));
      });
      results = { peer: probe(ns.peer), admin: probe(ns.admin), stranger: probe(ns.stranger) };
    });

    const expected = (from: "nodes" | "admin" | "none") => {
      const open = K3S_PORTS.filter(
        (p) =>
          p.on.includes("server") && (p.from === from || (p.from === "admin" && from !== "none")),
      );
      const ports = (proto: "tcp" | "udp", list: number[]) =>
        list.filter((x) =>
          open.some(
            (p) =>
              p.protocol === proto &&
              (typeof p.port === "number" ? p.port === x : x >= p.port[0] && x <= p.port[1]),
          ),
        );
      return { tcp: ports("tcp", tcp), udp: ports("udp", udp) };
    };

    test("an agent reaches exactly SSH, the API, the kubelet and VXLAN (not etcd)", () => {
      expect(results.peer).toEqual(expected("nodes"));
      expect(results.peer).toEqual({ tcp: [22, 6443, 10250], udp: [8472] });
    });

    test("an admin network reaches exactly SSH and the API", () => {
      expect(results.admin).toEqual(expected("admin"));
      expect(results.admin).toEqual({ tcp: [22, 6443], udp: [] });
    });

    test("any other address reaches nothing", () => {
      expect(results.stranger).toEqual({ tcp: [], udp: [] });
    });

    test("without the table the same probe reaches every port (the closed ports are the firewall's doing)", () => {
      ip("netns", "exec", ns.node, "nft", "delete", "table", "inet", "auditflow");
      expect(probe(ns.stranger)).toEqual({ tcp, udp });
    });
  });
});

describe("k3s-install.sh", () => {
  const state = path.join(tmp, "install");
  const served = path.join(tmp, "served");

  beforeAll(async () => {
    fs.mkdirSync(served);
    fs.writeFileSync(path.join(served, "install.sh"), installer);
    // Served on the node namespace's own loopback, where the root's curl looks.
    http = spawn(
      "ip",
      [
        "netns",
        "exec",
        ns.node,
        "python3",
        "-u",
        "-m",
        "http.server",
        "--bind",
        "127.0.0.1",
        String(INSTALLER_PORT),
        "--directory",
        served,
      ],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    // http.server says "Serving HTTP on ..." once it listens.
    await new Promise<void>((resolve) => http!.stdout!.once("data", () => resolve()));
  });

  const calls = () => {
    const f = inRoot(state, "var/log/k3s-installer-calls.log");
    return fs.existsSync(f) ? fs.readFileSync(f, "utf8").trim().split("\n") : [];
  };

  test("an installer whose SHA-256 differs from the pinned one is not run", async () => {
    const wrong = await plan({ ...args, installerSha256: "0".repeat(64) });
    const r = run(state, wrong.get("k3s-s1-install")!);
    expect(r.code).toBe(1);
    expect(r.err).toContain(
      `has SHA-256 ${installerSha}, expected ${"0".repeat(64)}; not running it`,
    );
    expect(calls()).toEqual([]);
  });

  test("without a pinned digest the install refuses to run", async () => {
    const none = await plan({ ...args, installerSha256: undefined });
    const r = run(state, none.get("k3s-s1-install")!);
    expect(r.code).toBe(2);
    expect(r.err).toContain("refusing to run an unverified script");
    expect(calls()).toEqual([]);
  });

  test("the verified installer runs with the version and role after the config files are in place, and sees no K3S_* variable it would copy into the service environment", () => {
    const r = run(state, planned.get("k3s-s1-install")!);
    expect(r.code).toBe(0);
    expect(r.out).toContain(`k3s-install: installer verified (sha256 ${installerSha})`);
    expect(calls()).toEqual([
      "called version=v1.31.6+k3s1 exec=server force_restart=true skip_download=false k3s_vars=[]",
    ]);
    const config = inRoot(state, "etc/rancher/k3s/config.yaml");
    expect(fs.statSync(config).mode & 0o777).toBe(0o600);
    expect(fs.readFileSync(config, "utf8")).toMatch(/^token: mock-k3s-token-x+$/m);
    expect(fs.readFileSync(inRoot(state, "etc/rancher/k3s/audit-policy.yaml"), "utf8")).toContain(
      "kind: Policy",
    );
    expect(
      fs.readFileSync(inRoot(state, "var/lib/rancher/k3s/server/manifests/kube-vip.yaml"), "utf8"),
    ).toContain("value: 198.18.0.10");
  });

  test("a rerun with nothing changed does not call the installer", () => {
    const r = run(state, planned.get("k3s-s1-install")!);
    expect(r.code).toBe(0);
    expect(r.out).toBe(
      "k3s-install: no change (v1.31.6+k3s1 installed, configuration unchanged)\n",
    );
    expect(calls()).toHaveLength(1);
  });

  test("a new version upgrades in place with the same files", async () => {
    const next = await plan({ ...args, k3sVersion: "v1.32.3+k3s1" });
    const r = run(state, next.get("k3s-s1-install")!);
    expect(r.code).toBe(0);
    expect(r.out).toContain("k3s-install: upgrading v1.31.6+k3s1 -> v1.32.3+k3s1");
    expect(calls()).toEqual([
      "called version=v1.31.6+k3s1 exec=server force_restart=true skip_download=false k3s_vars=[]",
      "called version=v1.32.3+k3s1 exec=server force_restart=true skip_download=false k3s_vars=[]",
    ]);
    expect(fs.existsSync(inRoot(state, "etc/rancher/k3s/config.yaml"))).toBe(true);
  });
});

describe("k3s-install.sh air-gapped", () => {
  const state = path.join(tmp, "airgap");
  const local = path.join(tmp, "airgap-local");
  const sha = (f: string) => createHash("sha256").update(fs.readFileSync(f)).digest("hex");
  const files = {
    binary: path.join(local, "k3s-arm64"),
    images: path.join(local, "k3s-airgap-images-arm64.tar"),
    installer: path.join(local, "install.sh"),
  };
  let airgapArgs: K3sClusterArgs;

  beforeAll(() => {
    fs.mkdirSync(local);
    // A stand-in K3s binary (reports its version) and a real tar as the images tarball.
    fs.writeFileSync(
      files.binary,
      '#!/bin/sh\necho "k3s version v1.31.6+k3s1 (airgap stand-in)"\n',
      {
        mode: 0o755,
      },
    );
    fs.writeFileSync(path.join(local, "image-layer"), "not a real image\n");
    execFileSync("tar", ["-cf", files.images, "-C", local, "image-layer"]);
    fs.writeFileSync(files.installer, installer);
    airgapArgs = {
      ...args,
      // Nothing listens here: an install that fetched anything would fail.
      installerUrl: "http://127.0.0.1:1/install.sh",
      airgap: {
        installer: files.installer,
        arm64: {
          binary: files.binary,
          binarySha256: sha(files.binary),
          images: files.images,
          imagesSha256: sha(files.images),
        },
        amd64: {
          binary: files.binary,
          binarySha256: sha(files.binary),
          images: files.images,
          imagesSha256: sha(files.images),
        },
      },
    };
  });

  /** Does what the node's CopyToRemote resources do: the local file at remotePath in the root. */
  function copyToNode(p: Map<string, RecordedResource>) {
    for (const [what, local] of Object.entries(files)) {
      const r = p.get(`k3s-s1-airgap-${what}`)!;
      const remote = inRoot(state, String(r.inputs.remotePath));
      fs.mkdirSync(path.dirname(remote), { recursive: true });
      fs.copyFileSync(local, remote);
    }
  }
  const calls = () => {
    const f = inRoot(state, "var/log/k3s-installer-calls.log");
    return fs.existsSync(f) ? fs.readFileSync(f, "utf8").trim().split("\n") : [];
  };

  const zeros = "0".repeat(64);
  test.each([
    [
      "binary",
      "/var/tmp/auditflow-airgap-k3s",
      (a: K3sClusterArgs) => (a.airgap!.arm64!.binarySha256 = zeros),
    ],
    [
      "images",
      "/var/tmp/auditflow-airgap-k3s-airgap-images-arm64.tar",
      (a: K3sClusterArgs) => (a.airgap!.arm64!.imagesSha256 = zeros),
    ],
    [
      "installer",
      "/var/tmp/auditflow-airgap-install.sh",
      (a: K3sClusterArgs) => (a.installerSha256 = zeros),
    ],
  ] as const)(
    "an air-gapped %s whose SHA-256 differs from the configured one is refused before anything on the node changes",
    async (what, staged, mutate) => {
      const ag = airgapArgs.airgap!;
      const wrongArgs = { ...airgapArgs, airgap: { ...ag, arm64: { ...ag.arm64! } } };
      mutate(wrongArgs);
      const wrong = await plan(wrongArgs);
      copyToNode(wrong);
      const r = run(state, wrong.get("k3s-s1-install")!);
      expect(r.code).toBe(1);
      expect(r.err).toContain(
        `the ${what} at ${staged} has SHA-256 ${sha(files[what])}, expected ${zeros}; nothing changed`,
      );
      expect(calls()).toEqual([]);
      for (const f of ["usr/local/bin/k3s", "etc/rancher/k3s", "var/lib/rancher/k3s"])
        expect([f, fs.existsSync(inRoot(state, f))]).toEqual([f, false]);
    },
  );

  test("the verified files are placed and the verified local installer runs with INSTALL_K3S_SKIP_DOWNLOAD=true", async () => {
    const p = await plan(airgapArgs);
    copyToNode(p);
    const r = run(state, p.get("k3s-s1-install")!);
    expect(r.err).not.toMatch(/k3s-install:|error/i);
    expect(r.code).toBe(0);
    expect(calls()).toEqual([
      "called version=v1.31.6+k3s1 exec=server force_restart=true skip_download=true k3s_vars=[]",
    ]);
    // The stand-in installer keeps a skipped download's binary: the copied one is what runs.
    expect(fs.readFileSync(inRoot(state, "usr/local/bin/k3s"))).toEqual(
      fs.readFileSync(files.binary),
    );
    expect(fs.statSync(inRoot(state, "usr/local/bin/k3s")).mode & 0o777).toBe(0o755);
    expect(
      fs.readFileSync(
        inRoot(state, "var/lib/rancher/k3s/agent/images/k3s-airgap-images-arm64.tar"),
      ),
    ).toEqual(fs.readFileSync(files.images));
    expect(fs.existsSync(inRoot(state, "etc/rancher/k3s/config.yaml"))).toBe(true);
  });

  test("a rerun changes nothing without the staged copies, which the first run removed", async () => {
    expect(
      fs.readdirSync(inRoot(state, "var/tmp")).filter((f) => f.startsWith("auditflow-airgap-")),
    ).toEqual([]);
    const r = run(state, (await plan(airgapArgs)).get("k3s-s1-install")!);
    expect(r.code).toBe(0);
    expect(r.out).toBe(
      "k3s-install: no change (v1.31.6+k3s1 installed, configuration unchanged)\n",
    );
    expect(calls()).toHaveLength(1);
  });
});

describe("k3s-kubeconfig.sh", () => {
  /** A root whose admin kubeconfig holds a client certificate valid for `days` more days. */
  function rootWithCertificate(name: string, days: number): string {
    const state = path.join(tmp, name);
    const dir = fs.mkdtempSync(path.join(tmp, "cert-"));
    execFileSync(
      "openssl",
      [
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-days",
        String(days),
        "-subj",
        "/CN=system:admin",
        "-keyout",
        path.join(dir, "key.pem"),
        "-out",
        path.join(dir, "cert.pem"),
      ],
      { stdio: "pipe" },
    );
    const cert = fs.readFileSync(path.join(dir, "cert.pem")).toString("base64");
    fs.mkdirSync(inRoot(state, "etc/rancher/k3s"), { recursive: true });
    fs.writeFileSync(
      inRoot(state, "etc/rancher/k3s/k3s.yaml"),
      `apiVersion: v1\nusers:\n- name: default\n  user:\n    client-certificate-data: ${cert}\n`,
    );
    fs.mkdirSync(inRoot(state, "usr/local/bin"), { recursive: true });
    fs.copyFileSync(
      path.join(__dirname, "fixtures/k3s-cert-stand-in.sh"),
      inRoot(state, "usr/local/bin/k3s"),
    );
    fs.chmodSync(inRoot(state, "usr/local/bin/k3s"), 0o755);
    return state;
  }
  const calls = (state: string) =>
    fs.existsSync(inRoot(state, "var/log/k3s-calls.log"))
      ? fs.readFileSync(inRoot(state, "var/log/k3s-calls.log"), "utf8")
      : "";

  test("prints the kubeconfig unchanged while its certificate outlives the renewal window", () => {
    const state = rootWithCertificate("kubeconfig-fresh", 300);
    const before = fs.readFileSync(inRoot(state, "etc/rancher/k3s/k3s.yaml"), "utf8");
    const r = run(state, planned.get("k3s-kubeconfig")!);
    expect(r.code).toBe(0);
    expect(r.out).toBe(before);
    expect(calls(state)).toBe("");
  });

  test("renews a certificate that expires within the window before printing the kubeconfig", () => {
    const state = rootWithCertificate("kubeconfig-expiring", 30);
    const before = fs.readFileSync(inRoot(state, "etc/rancher/k3s/k3s.yaml"), "utf8");
    const r = run(state, planned.get("k3s-kubeconfig")!);
    expect(r.code).toBe(0);
    expect(r.err).toContain("client certificate expires within 60 days: rotating");
    expect(calls(state)).toBe("k3s certificate rotate\n");
    expect(r.out).not.toBe(before);
    expect(r.out).toBe(fs.readFileSync(inRoot(state, "etc/rancher/k3s/k3s.yaml"), "utf8"));
  });
});

/** Accepts TCP connections and echoes UDP datagrams on the given ports; prints "ready". */
const LISTENER = `
import json, socket, sys, threading
spec = json.loads(sys.argv[1])
socks = []
for p in spec["tcp"]:
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", p)); s.listen(16); socks.append(s)
    threading.Thread(target=lambda s=s: [c.close() for c, _ in iter(s.accept, None)], daemon=True).start()
for p in spec["udp"]:
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("0.0.0.0", p)); socks.append(u)
    def echo(u=u):
        while True:
            d, a = u.recvfrom(512); u.sendto(d, a)
    threading.Thread(target=echo, daemon=True).start()
print("ready", flush=True)
threading.Event().wait()
`;

/** Tries each TCP port (connect) and UDP port (echo reply) with a short timeout; prints the open ones. */
const PROBE = `
import json, socket, sys
spec = json.loads(sys.argv[1])
out = {"tcp": [], "udp": []}
for p in spec["tcp"]:
    s = socket.socket(); s.settimeout(1)
    try:
        s.connect((spec["host"], p)); out["tcp"].append(p)
    except OSError:
        pass
    s.close()
for p in spec["udp"]:
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.settimeout(1)
    try:
        u.sendto(b"probe", (spec["host"], p)); u.recvfrom(64); out["udp"].append(p)
    except OSError:
        pass
    u.close()
print(json.dumps(out))
`;
