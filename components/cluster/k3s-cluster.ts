import * as path from "node:path";
import * as command from "@pulumi/command";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { sha256Pattern } from "../lib/formats";
import { loadShellScript } from "../lib/shell";
import { renderAuditPolicy } from "./audit-policy";
import {
  configDigest,
  type EtcdSnapshotArgs,
  type K3sNodeConfig,
  renderK3sConfig,
} from "./k3s-config";
import { renderKubeVip, type KubeVipArgs } from "./kube-vip";
import { NodePrep } from "./node-prep";
import { nodeLib, RUN_AS_ROOT, scriptStdin } from "./remote-script";

/** A machine in the cluster, as the stack declares it. */
export interface K3sNode {
  /** Node name (becomes the Kubernetes node name). */
  name: string;
  /** IPv4 address reachable over SSH from where `pulumi up` runs (also used in the firewall). */
  address: string;
  /** CPU architecture. arm64 nodes are taken to be Raspberry Pis (memory cgroup kernel arguments). */
  arch: "arm64" | "amd64";
  /** "server" runs the control plane (embedded etcd), "agent" only workloads. */
  role: "server" | "agent";
}

/** One architecture's K3s release files, on the machine running `pulumi up`. */
export interface K3sAirgapFiles {
  /** The K3s binary (release asset k3s or k3s-arm64). */
  binary: string;
  /** Its SHA-256 (from the release's sha256sum-<arch>.txt). */
  binarySha256: string;
  /** The airgap images tarball (k3s-airgap-images-<arch>.tar, .tar.gz or .tar.zst). */
  images: string;
  /** Its SHA-256. */
  imagesSha256: string;
}

/** Air-gapped install: everything comes from local files, digest-checked on each node. */
export interface K3sAirgapArgs {
  /** The upstream install.sh of the release, on the machine running `pulumi up` (its digest: installerSha256). */
  installer: string;
  /** Files for arm64 nodes. Required when there is one. */
  arm64?: K3sAirgapFiles;
  /** Files for amd64 nodes. Required when there is one. */
  amd64?: K3sAirgapFiles;
}

export interface K3sClusterArgs {
  /** Nodes to install; the first server initialises the cluster. Required. */
  nodes: readonly K3sNode[];
  /** K3s release to install or upgrade to, e.g. v1.31.6+k3s1. Required. */
  k3sVersion: string;
  /** SSH user with passwordless sudo on every node. Required. */
  sshUser: string;
  /** SSH private key (a secret Output). Required. */
  sshPrivateKey: pulumi.Input<string>;
  /** SSH port. Defaults to 22. */
  sshPort?: number;
  /** Address clients use for the API server (the virtual IP or a DNS name for it). Defaults to the VIP, else the first server's address. */
  apiAddress?: string;
  /** Networks operators and CI reach SSH and the API server from (host firewall). Required. */
  adminCidrs: readonly string[];
  /** The installer script's URL. Defaults to the script at the release's tag on GitHub. */
  installerUrl?: string;
  /** SHA-256 of that script; the install refuses to run without a match. Defaults to none (the install then refuses to run). */
  installerSha256?: string;
  /** Install from local files instead of downloading (the installer is then not fetched either). Defaults to none (online). */
  airgap?: K3sAirgapArgs;
  /** Virtual IP of the API server and LoadBalancer Services (kube-vip); further servers and agents join through it. Defaults to none (apiAddress and the join address are then the first server's). */
  vip?: KubeVipArgs;
  /** Container log rotation by the kubelet. Defaults to 10Mi and 5 files. */
  containerLogs?: { maxSize: string; maxFiles: number };
  /** journald limits on every node. Defaults to 500M in all, 50M per file. */
  journal?: { maxUse: string; maxFile: string };
  /** Scheduled etcd snapshots, optionally copied to an S3-compatible store. Defaults to none. */
  etcdSnapshots?: EtcdSnapshotArgs;
  /** Secret key of the snapshot store (secret). Required with etcdSnapshots.s3. */
  etcdS3SecretKey?: pulumi.Input<string>;
  /** Seconds a drain may take (PDBs honoured) before the upgrade stops. Defaults to 600. */
  drainTimeoutSeconds?: number;
  /** Seconds a node may take to be Ready on the new version. Defaults to 600. */
  readyTimeoutSeconds?: number;
  /** Re-read the kubeconfig at least this often (days, on `pulumi up`). Defaults to 30. */
  kubeconfigRefreshDays?: number;
  /** Renew the admin client certificate when it expires within this many days. Defaults to 60. */
  certRenewDays?: number;
  /** Clock for the kubeconfig refresh period (tests). Defaults to Date.now. */
  now?: () => number;
}

const installScript = loadShellScript(__dirname, "k3s-install.sh", {
  K3S_VERSION: "required",
  K3S_ROLE: "required",
  K3S_CONFIG: "required",
  INSTALLER_URL: "required",
  INSTALLER_SHA256: "optional",
  AUDIT_POLICY: "optional",
  KUBE_VIP_MANIFEST: "optional",
  ETCD_S3_CA: "optional",
  AIRGAP_BINARY: "optional",
  K3S_BINARY_SHA256: "optional",
  AIRGAP_IMAGES: "optional",
  AIRGAP_IMAGES_NAME: "optional",
  AIRGAP_IMAGES_SHA256: "optional",
  AIRGAP_INSTALLER: "optional",
});

/** Where the air-gapped files are copied on a node (as the SSH user) before k3s-install.sh checks them. */
const AIRGAP_STAGING = "/var/tmp/auditflow-airgap-";
const drainScript = loadShellScript(__dirname, "k3s-drain.sh", {
  NODE_NAME: "required",
  K3S_VERSION: "required",
  CONFIG_DIGEST: "required",
  DRAIN_TIMEOUT: "required",
});
const readyScript = loadShellScript(__dirname, "k3s-ready.sh", {
  NODE_NAME: "required",
  K3S_VERSION: "required",
  CONFIG_DIGEST: "required",
  READY_TIMEOUT: "required",
});
const kubeconfigScript = loadShellScript(__dirname, "k3s-kubeconfig.sh", {
  RENEW_DAYS: "required",
});

/** The upstream installer at a release's tag. */
export const installerUrlFor = (version: string) =>
  `https://raw.githubusercontent.com/k3s-io/k3s/${encodeURIComponent(version)}/install.sh`;

const AIRGAP_IMAGES = /^[A-Za-z0-9._-]+\.tar(\.gz|\.zst)?$/;
const VERSION = /^v\d+\.\d+\.\d+\+k3s\d+$/;
const IPV4 = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/;

/**
 * K3s over SSH with a safe lifecycle.
 *
 * Per node, in order: NodePrep (hardening, see node-prep.ts), then three commands that together are
 * one careful step: `drain` (on the first server: cordon and drain the node, PDBs honoured),
 * `install` (on the node: the pinned installer at the wanted version with the node's config file),
 * `ready` (on the first server: wait until the node is Ready on that version, uncordon it). Each
 * node's step depends on the previous node's, servers first and then agents, so at most one node
 * is ever out of service.
 *
 * Upgrades are updates, never replacements: the version and the configuration reach the commands
 * through their stdin (their `update` reruns the same idempotent scripts), no command has
 * `triggers`, and only `install` has a `delete` (the uninstall script), so the uninstall runs on
 * `pulumi destroy` and nowhere else. What would still replace a node's commands is a change of
 * its SSH connection (@pulumi/command marks `connection` replace-on-change): that is a different
 * machine, and uninstalling from the old one is then right.
 */
export class K3sCluster extends pulumi.ComponentResource {
  /** Kubeconfig pointing at apiAddress (secret). */
  public readonly kubeconfig: pulumi.Output<string>;
  /** Provider for everything deployed into the cluster. */
  public readonly provider: k8s.Provider;
  /** The address clients use for the API server. */
  public readonly apiAddress: string;

  constructor(name: string, args: K3sClusterArgs, opts?: pulumi.ComponentResourceOptions) {
    super("auditflow:cluster:K3sCluster", name, {}, opts);
    const servers = args.nodes.filter((n) => n.role === "server");
    const agents = args.nodes.filter((n) => n.role === "agent");
    const first = servers[0];
    validate(name, args, first);
    const apiAddress = args.apiAddress ?? args.vip?.address ?? first.address;
    this.apiAddress = apiAddress;
    const sshPort = args.sshPort ?? 22;

    const token = new random.RandomPassword(
      `${name}-token`,
      { length: 48, special: false },
      { parent: this, additionalSecretOutputs: ["result"] },
    );
    const connection = (n: K3sNode): command.types.input.remote.ConnectionArgs => ({
      host: n.address,
      port: sshPort,
      user: args.sshUser,
      privateKey: args.sshPrivateKey,
    });
    const s3Secret = args.etcdSnapshots?.s3 ? pulumi.secret(args.etcdS3SecretKey!) : undefined;
    const tlsSans = [
      ...new Set([
        apiAddress,
        ...(args.vip ? [args.vip.address] : []),
        ...servers.map((s) => s.address),
      ]),
    ];
    // Join through the VIP when there is one: kube-vip moves it to a surviving server, so a node
    // added after the first server is lost still finds the control plane.
    const joinUrl = `https://${args.vip?.address ?? first.address}:6443`;
    const auditPolicy = renderAuditPolicy();
    const kubeVip = args.vip ? renderKubeVip(args.vip) : "";

    let previous: pulumi.Resource[] = [];
    for (const n of [...servers, ...agents]) {
      const prep = new NodePrep(
        `${name}-${n.name}`,
        {
          connection: connection(n),
          sshPort,
          raspberryPi: n.arch === "arm64",
          firewall: {
            role: n.role,
            nodeAddresses: args.nodes.map((x) => x.address),
            serverAddresses: servers.map((x) => x.address),
            adminCidrs: args.adminCidrs,
          },
          journalMaxUse: args.journal?.maxUse,
          journalMaxFile: args.journal?.maxFile,
        },
        { parent: this },
      );
      const config: K3sNodeConfig = {
        role: n.role,
        nodeName: n.name,
        clusterInit: n === first,
        serverUrl: n === first ? undefined : joinUrl,
        tlsSans,
        containerLogMaxSize: args.containerLogs?.maxSize ?? "10Mi",
        containerLogMaxFiles: args.containerLogs?.maxFiles ?? 5,
        etcd: n.role === "server" ? args.etcdSnapshots : undefined,
      };
      const digest = configDigest(
        config,
        args.k3sVersion,
        n.role === "server" ? [auditPolicy, kubeVip] : [],
      );
      const onFirst = (
        suffix: string,
        stdin: pulumi.Output<string>,
        dependsOn: pulumi.Resource[],
      ) =>
        new command.remote.Command(
          `${name}-${n.name}-${suffix}`,
          { connection: connection(first), create: RUN_AS_ROOT, update: RUN_AS_ROOT, stdin },
          { parent: this, dependsOn },
        );
      const airgap = airgapCopies(`${name}-${n.name}`, args, n, connection(n), prep.ready, this);
      const drain = onFirst(
        "drain",
        scriptStdin(drainScript, {
          NODE_NAME: n.name,
          K3S_VERSION: args.k3sVersion,
          CONFIG_DIGEST: digest,
          DRAIN_TIMEOUT: String(args.drainTimeoutSeconds ?? 600),
        }),
        [prep.ready, ...airgap.copies, ...previous],
      );
      const install = new command.remote.Command(
        `${name}-${n.name}-install`,
        {
          connection: connection(n),
          create: RUN_AS_ROOT,
          update: RUN_AS_ROOT,
          stdin: scriptStdin(
            installScript,
            {
              K3S_VERSION: args.k3sVersion,
              K3S_ROLE: n.role,
              // Secret whatever the provider says about the token's secrecy: it holds the token.
              K3S_CONFIG: pulumi.secret(
                pulumi
                  .all([token.result, s3Secret ?? ""])
                  .apply(([t, s]) => renderK3sConfig(config, { token: t, s3SecretKey: s })),
              ),
              INSTALLER_URL: args.installerUrl ?? installerUrlFor(args.k3sVersion),
              INSTALLER_SHA256: args.installerSha256 ?? "",
              AUDIT_POLICY: n.role === "server" ? auditPolicy : "",
              KUBE_VIP_MANIFEST: n.role === "server" ? kubeVip : "",
              ETCD_S3_CA: (n.role === "server" && args.etcdSnapshots?.s3?.caBundle) || "",
              ...airgap.env,
            },
            [nodeLib],
          ),
          // `pulumi destroy` and nothing else: a version or configuration change is an update.
          delete:
            n.role === "agent"
              ? "sudo -n /usr/local/bin/k3s-agent-uninstall.sh"
              : "sudo -n /usr/local/bin/k3s-uninstall.sh",
        },
        { parent: this, dependsOn: [drain] },
      );
      const ready = onFirst(
        "ready",
        scriptStdin(readyScript, {
          NODE_NAME: n.name,
          K3S_VERSION: args.k3sVersion,
          CONFIG_DIGEST: digest,
          READY_TIMEOUT: String(args.readyTimeoutSeconds ?? 600),
        }),
        [install],
      );
      previous = [ready];
    }

    // Re-read (renewing the certificate when due) at least every kubeconfigRefreshDays: the
    // period number changes, and the command (which has no delete) runs again.
    const refreshDays = args.kubeconfigRefreshDays ?? 30;
    const period = Math.floor((args.now ?? Date.now)() / (refreshDays * 86_400_000));
    const readKubeconfig = new command.remote.Command(
      `${name}-kubeconfig`,
      {
        connection: connection(first),
        create: RUN_AS_ROOT,
        update: RUN_AS_ROOT,
        stdin: scriptStdin(kubeconfigScript, { RENEW_DAYS: String(args.certRenewDays ?? 60) }),
        triggers: [`refresh-period-${refreshDays}d-${period}`],
        logging: "none",
      },
      { parent: this, dependsOn: previous, additionalSecretOutputs: ["stdout"] },
    );
    this.kubeconfig = pulumi.secret(
      readKubeconfig.stdout.apply((y) =>
        y.replace("https://127.0.0.1:6443", `https://${apiAddress}:6443`),
      ),
    );
    this.provider = new k8s.Provider(
      `${name}-provider`,
      { kubeconfig: this.kubeconfig, enableServerSideApply: true },
      { parent: this },
    );
    this.registerOutputs({ kubeconfig: this.kubeconfig });
  }
}

/**
 * The air-gapped files of one node: a CopyToRemote each (binary, images tarball, installer) and
 * where k3s-install.sh finds them. CopyToRemote rather than stdin: stdin is stored in Pulumi's state
 * and diffed on every preview, which is no place for a ~70 MB binary and a ~200 MB tarball (nor is
 * a string for binary data); CopyToRemote keeps only the file's hash in the state and copies over SFTP.
 */
function airgapCopies(
  prefix: string,
  args: K3sClusterArgs,
  n: K3sNode,
  connection: command.types.input.remote.ConnectionArgs,
  after: pulumi.Resource,
  parent: pulumi.Resource,
): { copies: pulumi.Resource[]; env: Record<string, string> } {
  const ag = args.airgap;
  if (!ag) return { copies: [], env: {} };
  const files = ag[n.arch]!;
  const imagesName = path.basename(files.images);
  const copy = (what: string, local: string, remote: string) =>
    new command.remote.CopyToRemote(
      `${prefix}-airgap-${what}`,
      { connection, source: new pulumi.asset.FileAsset(local), remotePath: remote },
      { parent, dependsOn: [after] },
    );
  const env = {
    AIRGAP_BINARY: `${AIRGAP_STAGING}k3s`,
    K3S_BINARY_SHA256: files.binarySha256,
    AIRGAP_IMAGES: `${AIRGAP_STAGING}${imagesName}`,
    AIRGAP_IMAGES_NAME: imagesName,
    AIRGAP_IMAGES_SHA256: files.imagesSha256,
    AIRGAP_INSTALLER: `${AIRGAP_STAGING}install.sh`,
  };
  return {
    copies: [
      copy("binary", files.binary, env.AIRGAP_BINARY),
      copy("images", files.images, env.AIRGAP_IMAGES),
      copy("installer", ag.installer, env.AIRGAP_INSTALLER),
    ],
    env,
  };
}

function validate(
  name: string,
  args: K3sClusterArgs,
  first: K3sNode | undefined,
): asserts first is K3sNode {
  const fail = (msg: string) => {
    throw new Error(`K3sCluster ${name}: ${msg}`);
  };
  if (!first) fail('nodes must include at least one node with role "server"');
  if (!VERSION.test(args.k3sVersion))
    fail(`k3sVersion "${args.k3sVersion}" must look like v1.31.6+k3s1`);
  for (const n of args.nodes)
    if (!IPV4.test(n.address))
      fail(
        `node ${n.name}: address "${n.address}" must be an IPv4 address (the host firewall lists node addresses)`,
      );
  if (args.adminCidrs.length === 0)
    fail(
      "adminCidrs must list at least one network (otherwise the firewall locks the operators out)",
    );
  if (args.installerSha256 !== undefined && !sha256Pattern.test(args.installerSha256))
    fail("installerSha256 must be 64 lower-case hex digits (sha256sum of the installer)");
  if (args.vip && !IPV4.test(args.vip.address))
    fail(`vip.address "${args.vip.address}" must be an IPv4 address`);
  if (args.airgap) {
    for (const arch of new Set(args.nodes.map((n) => n.arch))) {
      const f = args.airgap[arch];
      if (!f) fail(`airgap.${arch} is required: a node has arch ${arch}`);
      else {
        if (!sha256Pattern.test(f.binarySha256))
          fail(`airgap.${arch}.binarySha256 must be 64 lower-case hex digits`);
        if (!sha256Pattern.test(f.imagesSha256))
          fail(`airgap.${arch}.imagesSha256 must be 64 lower-case hex digits`);
        if (!AIRGAP_IMAGES.test(path.basename(f.images)))
          fail(
            `airgap.${arch}.images "${f.images}" must end in .tar, .tar.gz or .tar.zst (K3s loads it by its extension)`,
          );
      }
    }
    if (args.installerSha256 === undefined)
      fail("installerSha256 is required with airgap (the copied installer is checked against it)");
  }
  if (args.etcdSnapshots?.s3 && args.etcdS3SecretKey === undefined)
    fail("etcdS3SecretKey is required when etcdSnapshots.s3 is set");
}
