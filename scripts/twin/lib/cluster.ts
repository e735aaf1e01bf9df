/**
 * The twin's control plane: etcd, kube-apiserver, kube-controller-manager, kube-scheduler and kwok
 * (simulated kubelets), each started in its own process group on free loopback ports, with the
 * API settings K3s uses, and stopped again on success, failure, Ctrl-C and process exit.
 */
import { ChildProcess, execFileSync, spawn } from "child_process";
import { generateKeyPairSync, randomBytes } from "crypto";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { Kube, until } from "./kube";

const REPO = path.resolve(__dirname, "../../..");
const WATCHDOG = path.join(REPO, "scripts/twin/watchdog.sh");

/** Where the build script put each version's binaries. */
export interface Binaries {
  etcd: string;
  kubernetes: string;
  kwok: string;
}

/** A build failure or missing tool: exit code 2 with this message. */
export class TwinSetupError extends Error {}

/**
 * Runs scripts/twin/build.sh (a no-op per binary when cached), passing its progress lines to
 * `progress`, and returns the bin directories.
 */
export function buildBinaries(progress: (line: string) => void = () => undefined): Binaries {
  let out: string;
  try {
    out = execFileSync("bash", [path.join(REPO, "scripts/twin/build.sh")], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
      maxBuffer: 64 * 2 ** 20,
    });
  } catch (e) {
    const err = e as { stderr?: string; stdout?: string; message: string };
    throw new TwinSetupError(
      `building the twin's binaries failed:\n${(err.stdout ?? "").trim()}\n${(err.stderr ?? err.message).trim()}`,
    );
  }
  const dirs: Record<string, string> = {};
  for (const line of out.split("\n")) {
    const m = /^(ETCD|KUBERNETES|KWOK)_BIN=(.+)$/.exec(line);
    if (m) dirs[m[1]!] = m[2]!;
    else if (line.trim()) progress(line);
  }
  if (!dirs.ETCD || !dirs.KUBERNETES || !dirs.KWOK)
    throw new TwinSetupError(`scripts/twin/build.sh did not report its bin directories:\n${out}`);
  return { etcd: dirs.ETCD, kubernetes: dirs.KUBERNETES, kwok: dirs.KWOK };
}

/** A free TCP port on 127.0.0.1 (the kernel's choice). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Every process group the twin started in this Node.js process, for the exit handlers. Kept on
 * `process` under a global symbol, not in this module: a test runner loads this module afresh for
 * every test file in the same process (jest's module registry), and a module-level set and flag
 * would add another exit and signal listener per file (Node warns "MaxListenersExceededWarning:
 * 11 exit listeners added to [process]" once there are more than ten) and leave the earlier
 * files' sets unreachable.
 */
const REGISTRY = Symbol.for("auditflow.twin.live-process-groups");
type Registry = { live: Set<ChildProcess> };
function registry(): Registry {
  const holder = process as unknown as Record<symbol, Registry | undefined>;
  let r = holder[REGISTRY];
  if (!r) {
    const created: Registry = { live: new Set() };
    r = holder[REGISTRY] = created;
    installHandlers(created.live);
  }
  return r;
}

function killGroup(p: ChildProcess, signal: NodeJS.Signals): void {
  if (p.pid === undefined || p.exitCode !== null || p.signalCode !== null) return;
  try {
    process.kill(-p.pid, signal);
  } catch {
    // already gone
  }
}

/** On exit and on SIGINT/SIGTERM/SIGHUP: kill every process group still running. Once per process. */
function installHandlers(live: Set<ChildProcess>): void {
  process.on("exit", () => {
    for (const p of live) killGroup(p, "SIGKILL");
  });
  for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.on(sig, () => {
      for (const p of live) killGroup(p, "SIGKILL");
      process.stderr.write(`twin: ${sig}: stopped every process the twin started\n`);
      process.exit(sig === "SIGINT" ? 130 : 143);
    });
  }
}

/** The identities the twin's API server knows (static tokens). */
interface Identity {
  user: string;
  groups: string[];
}

/**
 * The deployer is what `pulumi up` runs as: K3s hands out an admin kubeconfig whose client
 * certificate is `system:admin` in `system:masters`, and that is the kubeconfig the Kubernetes
 * provider uses. The components get the identities K3s gives them; kwok stands in for every
 * kubelet at once, so it cannot be one `system:node:<name>` and gets `system:masters`.
 */
const IDENTITIES: Record<string, Identity> = {
  deployer: { user: "system:admin", groups: ["system:masters"] },
  "kube-controller-manager": { user: "system:kube-controller-manager", groups: [] },
  "kube-scheduler": { user: "system:kube-scheduler", groups: [] },
  kwok: { user: "system:kwok-kubelets", groups: ["system:masters"] },
};

export interface ClusterOptions {
  bins: Binaries;
  /** Directory for logs and kubeconfigs (kept when the run fails). */
  logDir: string;
  /** kwok Stage objects (YAML file). */
  stagesFile?: string;
}

/** The API settings of K3s v1.34's embedded kube-apiserver that matter to what the twin checks. */
const K3S_CLUSTER_CIDR = "10.42.0.0/16";
const K3S_SERVICE_CIDR = "10.43.0.0/16";

export class TwinCluster {
  readonly logDir: string;
  private readonly dataDir: string;
  private readonly procs: { name: string; proc: ChildProcess }[] = [];
  private stopped = false;
  /** Client for the deployer identity. */
  kube!: Kube;
  server = "";
  /** etcd's client URL (plain HTTP on loopback), e.g. for etcdctl. */
  etcdEndpoint = "";
  ca = "";
  tokens: Record<string, string> = {};
  /** Timings of the start, for the report. */
  readonly timings: Record<string, number> = {};

  private constructor(private readonly opts: ClusterOptions) {
    this.logDir = opts.logDir;
    this.dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "auditflow-twin-"));
    fs.mkdirSync(this.logDir, { recursive: true });
  }

  /** Starts the control plane and kwok and waits until the API server is ready. */
  static async start(opts: ClusterOptions): Promise<TwinCluster> {
    registry();
    const c = new TwinCluster(opts);
    try {
      await c.boot();
      return c;
    } catch (e) {
      await c.stop();
      throw e;
    }
  }

  private spawn(name: string, bin: string, args: string[]): ChildProcess {
    const log = fs.openSync(path.join(this.logDir, `${name}.log`), "w");
    // Its own process group (stopped as a whole), under a watchdog that stops it if this process
    // dies without running its handlers.
    const proc = spawn(WATCHDOG, [String(process.pid), bin, ...args], {
      detached: true,
      stdio: ["ignore", log, log],
    });
    fs.closeSync(log);
    const { live } = registry();
    live.add(proc);
    proc.on("exit", () => live.delete(proc));
    this.procs.push({ name, proc });
    return proc;
  }

  /** Fails fast when a component died during start. */
  private checkAlive(): void {
    for (const { name, proc } of this.procs) {
      if (proc.exitCode !== null || proc.signalCode !== null) {
        const tail = fs
          .readFileSync(path.join(this.logDir, `${name}.log`), "utf8")
          .split("\n")
          .slice(-15)
          .join("\n");
        throw new Error(
          `${name} exited (${proc.exitCode ?? proc.signalCode}) during start:\n${tail}`,
        );
      }
    }
  }

  private writePki(): {
    caKey: string;
    caCrt: string;
    crt: string;
    key: string;
    saKey: string;
    saPub: string;
  } {
    const d = path.join(this.dataDir, "pki");
    fs.mkdirSync(d, { recursive: true });
    const f = (n: string) => path.join(d, n);
    const ossl = (...args: string[]) => execFileSync("openssl", args, { stdio: "pipe" });
    const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
    ossl(
      "req",
      "-x509",
      ...ec,
      "-keyout",
      f("ca.key"),
      "-out",
      f("ca.crt"),
      "-subj",
      "/CN=auditflow-twin-ca",
      "-days",
      "2",
    );
    ossl(
      "req",
      "-new",
      ...ec,
      "-keyout",
      f("apiserver.key"),
      "-out",
      f("apiserver.csr"),
      "-subj",
      "/CN=kube-apiserver",
    );
    fs.writeFileSync(
      f("san.ext"),
      "subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default.svc,IP:10.43.0.1\n",
    );
    ossl(
      "x509",
      "-req",
      "-in",
      f("apiserver.csr"),
      "-CA",
      f("ca.crt"),
      "-CAkey",
      f("ca.key"),
      "-CAcreateserial",
      "-days",
      "2",
      "-extfile",
      f("san.ext"),
      "-out",
      f("apiserver.crt"),
    );
    const sa = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
    fs.writeFileSync(f("sa.key"), sa.privateKey.export({ type: "sec1", format: "pem" }), {
      mode: 0o600,
    });
    fs.writeFileSync(f("sa.pub"), sa.publicKey.export({ type: "spki", format: "pem" }));
    return {
      caKey: f("ca.key"),
      caCrt: f("ca.crt"),
      crt: f("apiserver.crt"),
      key: f("apiserver.key"),
      saKey: f("sa.key"),
      saPub: f("sa.pub"),
    };
  }

  /** A kubeconfig for one identity (kept with the logs, so a failed run can be inspected). */
  kubeconfig(identity: string): string {
    const file = path.join(this.logDir, `${identity}.kubeconfig`);
    const doc = {
      apiVersion: "v1",
      kind: "Config",
      clusters: [
        {
          name: "twin",
          cluster: {
            server: this.server,
            "certificate-authority-data": Buffer.from(this.ca).toString("base64"),
          },
        },
      ],
      users: [{ name: identity, user: { token: this.tokens[identity] } }],
      contexts: [{ name: "twin", context: { cluster: "twin", user: identity } }],
      "current-context": "twin",
    };
    fs.writeFileSync(file, JSON.stringify(doc, null, 2), { mode: 0o600 });
    return file;
  }

  private async boot(): Promise<void> {
    const t0 = Date.now();
    const { bins } = this.opts;
    const pki = this.writePki();
    this.ca = fs.readFileSync(pki.caCrt, "utf8");
    const tokenLines: string[] = [];
    for (const [id, who] of Object.entries(IDENTITIES)) {
      this.tokens[id] = randomBytes(24).toString("hex");
      tokenLines.push(`${this.tokens[id]},${who.user},${who.user},"${who.groups.join(",")}"`);
    }
    const tokenFile = path.join(this.dataDir, "pki", "tokens.csv");
    fs.writeFileSync(tokenFile, `${tokenLines.join("\n")}\n`, { mode: 0o600 });

    const [etcdClient, etcdPeer, apiPort, kwokPort] = await Promise.all([
      freePort(),
      freePort(),
      freePort(),
      freePort(),
    ]);
    this.etcdEndpoint = `http://127.0.0.1:${etcdClient}`;
    this.spawn("etcd", path.join(bins.etcd, "etcd"), [
      "--name=twin",
      `--data-dir=${path.join(this.dataDir, "etcd")}`,
      `--listen-client-urls=http://127.0.0.1:${etcdClient}`,
      `--advertise-client-urls=http://127.0.0.1:${etcdClient}`,
      `--listen-peer-urls=http://127.0.0.1:${etcdPeer}`,
      `--initial-advertise-peer-urls=http://127.0.0.1:${etcdPeer}`,
      `--initial-cluster=twin=http://127.0.0.1:${etcdPeer}`,
      // A throwaway store: no fsync per write, which is what makes applying a stack take seconds.
      "--unsafe-no-fsync",
      "--quota-backend-bytes=1073741824",
      "--log-level=warn",
    ]);

    this.server = `https://127.0.0.1:${apiPort}`;
    this.spawn("kube-apiserver", path.join(bins.kubernetes, "kube-apiserver"), [
      `--etcd-servers=http://127.0.0.1:${etcdClient}`,
      "--bind-address=127.0.0.1",
      "--advertise-address=127.0.0.1",
      `--secure-port=${apiPort}`,
      `--cert-dir=${path.join(this.dataDir, "apiserver-certs")}`,
      `--tls-cert-file=${pki.crt}`,
      `--tls-private-key-file=${pki.key}`,
      `--client-ca-file=${pki.caCrt}`,
      `--token-auth-file=${tokenFile}`,
      // As K3s runs it: Node and RBAC authorization, NodeRestriction on top of the default admission
      // plugins (which include PodSecurity, LimitRanger, ResourceQuota, ServiceAccount,
      // DefaultStorageClass, Priority), privileged pods allowed cluster-wide (Pod Security admission
      // decides per namespace), anonymous requests refused, K3s' service CIDR and issuer.
      "--authorization-mode=Node,RBAC",
      "--enable-admission-plugins=NodeRestriction",
      "--allow-privileged=true",
      "--anonymous-auth=false",
      `--service-cluster-ip-range=${K3S_SERVICE_CIDR}`,
      "--service-node-port-range=30000-32767",
      "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
      "--api-audiences=https://kubernetes.default.svc.cluster.local,k3s",
      `--service-account-key-file=${pki.saPub}`,
      `--service-account-signing-key-file=${pki.saKey}`,
      "--profiling=false",
      // The twin has no network to advertise: the `kubernetes` Service gets no loopback endpoint.
      "--endpoint-reconciler-type=none",
      "--v=1",
    ]);
    const probe = new Kube({ server: this.server, token: this.tokens.deployer!, ca: this.ca });
    this.kube = probe;
    await until(
      async () => {
        this.checkAlive();
        try {
          await probe.get("/readyz");
          return true;
        } catch {
          return undefined;
        }
      },
      60_000,
      () => "kube-apiserver did not become ready",
      100,
    );
    this.timings.apiserverReady = Date.now() - t0;

    this.spawn("kube-controller-manager", path.join(bins.kubernetes, "kube-controller-manager"), [
      `--kubeconfig=${this.kubeconfig("kube-controller-manager")}`,
      "--secure-port=0",
      "--leader-elect=false",
      "--use-service-account-credentials=true",
      `--service-account-private-key-file=${pki.saKey}`,
      `--root-ca-file=${pki.caCrt}`,
      `--cluster-cidr=${K3S_CLUSTER_CIDR}`,
      "--allocate-node-cidrs=true",
      `--service-cluster-ip-range=${K3S_SERVICE_CIDR}`,
      // K3s runs these controllers (it adds the token cleaner and leaves out cloud ones).
      "--controllers=*,tokencleaner,-service,-route,-cloud-node-lifecycle",
      // The only setting that differs from K3s: the HPA loop runs every second instead of every
      // 15 s, so a stack's HPAs bring their Deployments to minReplicas within the run.
      "--horizontal-pod-autoscaler-sync-period=1s",
      "--profiling=false",
      "--v=1",
    ]);
    this.spawn("kube-scheduler", path.join(bins.kubernetes, "kube-scheduler"), [
      `--kubeconfig=${this.kubeconfig("kube-scheduler")}`,
      "--secure-port=0",
      "--leader-elect=false",
      "--profiling=false",
      "--v=1",
    ]);
    this.spawn("kwok", path.join(bins.kwok, "kwok"), [
      `--kubeconfig=${this.kubeconfig("kwok")}`,
      "--manage-all-nodes=false",
      "--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake",
      `--config=${this.opts.stagesFile ?? path.join(REPO, "scripts/twin/stages.yaml")}`,
      `--cidr=${K3S_CLUSTER_CIDR}`,
      // Node addresses are only recorded in Node objects; nothing is ever sent to them.
      "--node-ip=127.0.0.1",
      `--server-address=127.0.0.1:${kwokPort}`,
      "--node-lease-duration-seconds=40",
    ]);
    this.kubeconfig("deployer");
    // The service account controller creates each namespace's `default` account once it runs.
    await until(
      async () => {
        this.checkAlive();
        return (await this.kube.find("/api/v1/namespaces/default/serviceaccounts/default"))
          ? true
          : undefined;
      },
      60_000,
      () => "kube-controller-manager did not create the default ServiceAccount",
      100,
    );
    this.timings.controlPlaneReady = Date.now() - t0;
  }

  /** Resident memory of each component (all processes of its group), in bytes, from /proc. */
  memory(): Record<string, number> {
    const groups = new Map<number, string>();
    for (const { name, proc } of this.procs) if (proc.pid) groups.set(proc.pid, name);
    const out: Record<string, number> = {};
    for (const pid of fs.readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
      try {
        const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
        // Fields after the command name (which may hold spaces): state ppid pgrp ...
        const pgrp = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[2]);
        const name = groups.get(pgrp);
        if (!name) continue;
        const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"));
        if (m) out[name] = (out[name] ?? 0) + Number(m[1]) * 1024;
      } catch {
        // exited meanwhile
      }
    }
    return out;
  }

  /** The twin's kubectl binary. */
  get kubectl(): string {
    return path.join(this.opts.bins.kubernetes, "kubectl");
  }

  /** Removes the logs and kubeconfigs (after a successful run; a failed one keeps them). */
  removeLogs(): void {
    fs.rmSync(this.logDir, { recursive: true, force: true });
  }

  /** Path of a component's log. */
  logOf(name: string): string {
    return path.join(this.logDir, `${name}.log`);
  }

  /** Stops every process (SIGTERM, then SIGKILL after 5 s) and removes the data directory. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.kube?.close();
    const exited = (p: ChildProcess) =>
      p.exitCode !== null || p.signalCode !== null
        ? Promise.resolve()
        : new Promise<void>((r) => p.once("exit", () => r()));
    // kwok and the controllers first, etcd last, so nothing logs a lost connection as a failure.
    for (const { proc } of [...this.procs].reverse()) {
      killGroup(proc, "SIGTERM");
      const timer = setTimeout(() => killGroup(proc, "SIGKILL"), 5000);
      await exited(proc);
      clearTimeout(timer);
    }
    fs.rmSync(this.dataDir, { recursive: true, force: true });
  }
}
