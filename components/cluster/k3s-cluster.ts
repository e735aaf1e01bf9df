import * as command from "@pulumi/command";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";

/** A machine in the cluster, as the stack declares it. */
export interface K3sNode {
  /** Node name (becomes the Kubernetes node name). */
  name: string;
  /** IP address or DNS name reachable over SSH from where `pulumi up` runs. */
  address: string;
  /** CPU architecture. */
  arch: "arm64" | "amd64";
  /** "server" runs the control plane (embedded etcd when there are several), "agent" only workloads. */
  role: "server" | "agent";
}

export interface K3sClusterArgs {
  /** Nodes to install; the first server initialises the cluster. Required. */
  nodes: readonly K3sNode[];
  /** K3s release to install, e.g. v1.31.6+k3s1. Required. */
  k3sVersion: string;
  /** SSH user with passwordless sudo on every node. Required. */
  sshUser: string;
  /** SSH private key (a secret Output). Required. */
  sshPrivateKey: pulumi.Input<string>;
  /** SSH port. Defaults to 22. */
  sshPort?: number;
  /** Address clients use for the API server (a VIP or DNS name in HA). Defaults to the first server's address. */
  apiAddress?: string;
}

/**
 * Installs K3s over SSH on the declared nodes: the first server with `--cluster-init` (embedded etcd,
 * so further servers make the control plane highly available), the other servers and the agents
 * joined with a generated token. Reads the kubeconfig back (secret) and offers a Kubernetes provider.
 *
 * The bundled servicelb is disabled; Traefik stays as the ingress controller. Secrets are encrypted at
 * rest (`--secrets-encryption`), and the kubeconfig file on the nodes is readable by root only.
 */
export class K3sCluster extends pulumi.ComponentResource {
  /** Kubeconfig pointing at apiAddress (secret). */
  public readonly kubeconfig: pulumi.Output<string>;
  /** Provider for everything deployed into the cluster. */
  public readonly provider: k8s.Provider;

  constructor(name: string, args: K3sClusterArgs, opts?: pulumi.ComponentResourceOptions) {
    super("auditflow:cluster:K3sCluster", name, {}, opts);
    const servers = args.nodes.filter((n) => n.role === "server");
    const agents = args.nodes.filter((n) => n.role === "agent");
    const first = servers[0];
    if (!first) {
      throw new Error(
        `K3sCluster ${name}: nodes must include at least one node with role "server"`,
      );
    }
    if (!/^v\d+\.\d+\.\d+\+k3s\d+$/.test(args.k3sVersion)) {
      throw new Error(
        `K3sCluster ${name}: k3sVersion "${args.k3sVersion}" must look like v1.31.6+k3s1`,
      );
    }
    const apiAddress = args.apiAddress ?? first.address;

    const token = new random.RandomPassword(
      `${name}-token`,
      { length: 48, special: false },
      { parent: this, additionalSecretOutputs: ["result"] },
    );

    const connection = (n: K3sNode): command.types.input.remote.ConnectionArgs => ({
      host: n.address,
      port: args.sshPort ?? 22,
      user: args.sshUser,
      privateKey: args.sshPrivateKey,
    });
    // The token reaches the install through the environment of the remote command, never its text.
    const install = (n: K3sNode, mode: string, extra: string[], dependsOn: pulumi.Resource[]) =>
      new command.remote.Command(
        `${name}-${n.name}`,
        {
          connection: connection(n),
          environment: {
            INSTALL_K3S_VERSION: args.k3sVersion,
            INSTALL_K3S_EXEC: [mode, `--node-name=${n.name}`, ...extra].join(" "),
            K3S_TOKEN: pulumi.secret(token.result),
          },
          create: "curl -sfL https://get.k3s.io | sudo -E sh -s -",
          delete:
            mode === "agent"
              ? "sudo /usr/local/bin/k3s-agent-uninstall.sh"
              : "sudo /usr/local/bin/k3s-uninstall.sh",
          triggers: [args.k3sVersion],
          logging: "stderr",
        },
        { parent: this, dependsOn },
      );

    const serverFlags = [
      `--tls-san=${apiAddress}`,
      "--disable=servicelb",
      "--secrets-encryption",
      "--write-kubeconfig-mode=0600",
    ];
    const init = install(first, "server", ["--cluster-init", ...serverFlags], []);
    const joinUrl = `--server=https://${first.address}:6443`;
    const others = servers
      .slice(1)
      .map((n) => install(n, "server", [joinUrl, ...serverFlags], [init]));
    const agentInstalls = agents.map((n) => install(n, "agent", [joinUrl], [init, ...others]));

    const readKubeconfig = new command.remote.Command(
      `${name}-kubeconfig`,
      {
        connection: connection(first),
        create: "sudo cat /etc/rancher/k3s/k3s.yaml",
        triggers: [args.k3sVersion],
        logging: "none",
      },
      {
        parent: this,
        dependsOn: [init, ...others, ...agentInstalls],
        additionalSecretOutputs: ["stdout"],
      },
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
