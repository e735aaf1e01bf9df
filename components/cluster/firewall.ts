/**
 * The host firewall of every K3s node: one typed table of the ports K3s needs, rendered to an
 * nftables ruleset (default deny on input) and to the README's table, so the two never disagree.
 *
 * Only the input hook is filtered: forwarded pod and Service traffic is K3s' own business (flannel,
 * kube-proxy and the network policy controller program it through iptables-nft), and a drop policy
 * on forward would cut pods off.
 */

/** Who may reach a port. */
export type PortSource =
  /** every cluster node (servers and agents) */
  | "nodes"
  /** the servers only */
  | "servers"
  /** the operators' networks (`cluster.firewall.adminCidrs`) and every node */
  | "admin";

/** One opening in the host firewall. */
export interface K3sPort {
  /** Port or inclusive range. */
  port: number | readonly [number, number];
  protocol: "tcp" | "udp";
  /** Node roles that listen on the port (the port is opened only there). */
  on: readonly ("server" | "agent")[];
  from: PortSource;
  purpose: string;
}

/**
 * The ports K3s needs between the nodes (K3s' "Inbound rules for K3s nodes", flannel VXLAN
 * backend, embedded etcd), plus SSH and the API server for the operators. Nothing else is open.
 */
export const K3S_PORTS: readonly K3sPort[] = [
  {
    port: 22,
    protocol: "tcp",
    on: ["server", "agent"],
    from: "admin",
    purpose: "SSH (Pulumi, operators)",
  },
  {
    port: 6443,
    protocol: "tcp",
    on: ["server"],
    from: "admin",
    purpose: "Kubernetes API server (agents, kubectl, Pulumi)",
  },
  {
    port: [2379, 2380],
    protocol: "tcp",
    on: ["server"],
    from: "servers",
    purpose: "embedded etcd client and peer traffic (HA)",
  },
  {
    port: 10250,
    protocol: "tcp",
    on: ["server", "agent"],
    from: "nodes",
    purpose: "kubelet API (logs, exec, metrics-server)",
  },
  {
    port: 8472,
    protocol: "udp",
    on: ["server", "agent"],
    from: "nodes",
    purpose: "flannel VXLAN between nodes",
  },
];

/** K3s' default pod and Service networks: pods reach host-network services (kubelet, kube-vip). */
export const CLUSTER_CIDRS = ["10.42.0.0/16", "10.43.0.0/16"] as const;

export interface FirewallInput {
  role: "server" | "agent";
  /** IPv4 addresses of every node. */
  nodeAddresses: readonly string[];
  /** IPv4 addresses of the servers. */
  serverAddresses: readonly string[];
  /** Networks the operators and CI reach SSH and the API from. */
  adminCidrs: readonly string[];
  /** Pod and Service networks. Defaults to K3s' defaults. */
  clusterCidrs?: readonly string[];
}

const portText = (p: K3sPort["port"]) => (typeof p === "number" ? `${p}` : `${p[0]}-${p[1]}`);
const set = (xs: readonly string[]) => `{ ${xs.join(", ")} }`;

/** The nftables ruleset for one node (atomic: `nft -f` replaces only the table `inet auditflow`). */
export function renderRuleset(f: FirewallInput): string {
  const sources: Record<PortSource, string> = {
    nodes: "@nodes",
    servers: "@servers",
    admin: "@admin",
  };
  const rules = K3S_PORTS.filter((p) => p.on.includes(f.role)).map((p) => {
    const src = sources[p.from];
    const line = `ip saddr ${src} ${p.protocol} dport ${portText(p.port)} accept`;
    // admin also covers the nodes themselves (agents reach 6443, nodes reach each other's SSH).
    const nodes =
      p.from === "admin"
        ? `\n    ip saddr @nodes ${p.protocol} dport ${portText(p.port)} accept`
        : "";
    return `    # ${p.purpose}\n    ${line}${nodes}`;
  });
  const elements = (name: string, xs: readonly string[]) =>
    `  set ${name} {\n    type ipv4_addr\n    flags interval\n${xs.length ? `    elements = ${set(xs)}\n` : ""}  }`;
  return [
    "#!/usr/sbin/nft -f",
    "# Managed by AuditFlow (components/cluster/firewall.ts). Default deny on input; see README.",
    "table inet auditflow",
    "delete table inet auditflow",
    "table inet auditflow {",
    elements("nodes", f.nodeAddresses),
    elements("servers", f.serverAddresses),
    elements("admin", f.adminCidrs),
    elements("cluster", f.clusterCidrs ?? CLUSTER_CIDRS),
    "  chain input {",
    "    type filter hook input priority filter; policy drop;",
    "    ct state established,related accept",
    "    ct state invalid drop",
    '    iifname "lo" accept',
    "    icmp type { echo-request, destination-unreachable, time-exceeded } accept",
    "    meta l4proto 58 accept # ICMPv6 (numeric: /etc/protocols may be absent)",
    "    # pods and Services reaching host-network endpoints (kubelet, CoreDNS upstream, kube-vip)",
    "    ip saddr @cluster accept",
    ...rules,
    "  }",
    "}",
    "",
  ].join("\n");
}

/** The README's table of openings, generated from K3S_PORTS. */
export function portsMarkdown(): string {
  const from: Record<PortSource, string> = {
    nodes: "every node",
    servers: "servers",
    admin: "admin networks and every node",
  };
  return [
    "| Port | Protocol | Open on | From | Purpose |",
    "| --- | --- | --- | --- | --- |",
    ...K3S_PORTS.map(
      (p) =>
        `| ${portText(p.port)} | ${p.protocol} | ${p.on.join(", ")} | ${from[p.from]} | ${p.purpose} |`,
    ),
  ].join("\n");
}
