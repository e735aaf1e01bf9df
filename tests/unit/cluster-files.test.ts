import * as fs from "fs";
import * as path from "path";
import { parse, parseAllDocuments } from "yaml";
import { AUDIT, auditPolicy, renderAuditPolicy } from "../../components/cluster/audit-policy";
import { K3S_PORTS, portsMarkdown, renderRuleset } from "../../components/cluster/firewall";
import { configDigest, k3sConfigObject } from "../../components/cluster/k3s-config";
import { renderKubeVip } from "../../components/cluster/kube-vip";

const firewall = {
  nodeAddresses: ["192.0.2.1", "192.0.2.2"],
  serverAddresses: ["192.0.2.1"],
  adminCidrs: ["198.51.100.0/24"],
};

describe("host firewall", () => {
  test("the README's port table is the one rendered from K3S_PORTS", () => {
    const readme = fs.readFileSync(path.join(__dirname, "../../README.md"), "utf8");
    const m = /<!-- k3s-ports:start -->\n([\s\S]*?)\n<!-- k3s-ports:end -->/.exec(readme);
    expect(m?.[1]).toBe(portsMarkdown());
  });

  test("a server opens every listed port and an agent only the agent ports, each from its sources", () => {
    const server = renderRuleset({ role: "server", ...firewall });
    const agent = renderRuleset({ role: "agent", ...firewall });
    expect(server).toContain("policy drop;");
    expect(server).toContain("ip saddr @servers tcp dport 2379-2380 accept");
    expect(server).toContain("ip saddr @admin tcp dport 6443 accept");
    expect(agent).not.toContain("dport 6443");
    expect(agent).not.toContain("2379");
    expect(agent).toContain("ip saddr @nodes udp dport 8472 accept");
    const accepts = (r: string) => r.split("\n").filter((l) => / dport /.test(l)).length;
    const count = (role: "server" | "agent") =>
      K3S_PORTS.filter((p) => p.on.includes(role)).reduce(
        (n, p) => n + (p.from === "admin" ? 2 : 1),
        0,
      );
    expect(accepts(server)).toBe(count("server"));
    expect(accepts(agent)).toBe(count("agent"));
    expect(server).toContain("elements = { 192.0.2.1, 192.0.2.2 }");
  });
});

describe("K3s server files", () => {
  test("the audit policy renders to an audit.k8s.io/v1 Policy whose last rule catches everything at Metadata", () => {
    const doc = parse(renderAuditPolicy()) as typeof auditPolicy;
    expect(doc.apiVersion).toBe("audit.k8s.io/v1");
    expect(doc.kind).toBe("Policy");
    expect(doc.rules.at(-1)).toEqual({ level: "Metadata" });
    // Secrets are never logged with their bodies: their rule comes before any RequestResponse rule.
    const secrets = doc.rules.findIndex((r) =>
      r.resources?.some((g) => g.group === "" && g.resources?.includes("secrets")),
    );
    const firstBodies = doc.rules.findIndex((r) => r.level === "RequestResponse");
    expect(doc.rules[secrets]!.level).toBe("Metadata");
    expect(secrets).toBeLessThan(firstBodies);
  });

  test("a server's config enables the audit log and etcd-s3 without the key on any flag list", () => {
    const o = k3sConfigObject(
      {
        role: "server",
        nodeName: "s1",
        clusterInit: true,
        tlsSans: ["k3s.example"],
        containerLogMaxSize: "10Mi",
        containerLogMaxFiles: 5,
        etcd: {
          schedule: "0 * * * *",
          retention: 5,
          s3: {
            endpoint: "http://192.0.2.9:9000",
            bucket: "b",
            folder: "f/etcd",
            accessKeyId: "ak",
          },
        },
      },
      { token: "T", s3SecretKey: "SK" },
    );
    expect(o["kube-apiserver-arg"]).toContain(`audit-log-path=${AUDIT.logFile}`);
    expect(o["etcd-s3-endpoint"]).toBe("192.0.2.9:9000");
    expect(o["etcd-s3-insecure"]).toBe(true);
    expect(o["etcd-s3-secret-key"]).toBe("SK");
    expect(o["disable"]).toEqual(["servicelb"]);
  });

  test("the configuration digest ignores the secrets and follows the version", () => {
    const c = {
      role: "agent" as const,
      nodeName: "a1",
      clusterInit: false,
      serverUrl: "https://192.0.2.1:6443",
      tlsSans: [],
      containerLogMaxSize: "10Mi",
      containerLogMaxFiles: 5,
    };
    expect(configDigest(c, "v1.31.6+k3s1")).toBe(configDigest(c, "v1.31.6+k3s1"));
    expect(configDigest(c, "v1.32.3+k3s1")).not.toBe(configDigest(c, "v1.31.6+k3s1"));
    expect(configDigest({ ...c, containerLogMaxFiles: 6 }, "v1.31.6+k3s1")).not.toBe(
      configDigest(c, "v1.31.6+k3s1"),
    );
  });

  test("kube-vip's manifest holds the VIP on control-plane nodes and gives Services the range", () => {
    const docs = parseAllDocuments(
      renderKubeVip({
        address: "192.0.2.10",
        interface: "eth0",
        servicesRange: "192.0.2.200-192.0.2.210",
      }),
    ).map((d) => d.toJSON() as any);
    const ds = docs.find((d) => d.kind === "DaemonSet");
    expect(ds.spec.template.spec.nodeSelector).toEqual({
      "node-role.kubernetes.io/control-plane": "true",
    });
    const env = Object.fromEntries(
      ds.spec.template.spec.containers[0].env.map((e: any) => [e.name, e.value]),
    );
    expect(env).toMatchObject({
      address: "192.0.2.10",
      vip_interface: "eth0",
      cp_enable: "true",
      svc_enable: "true",
    });
    expect(docs.find((d) => d.kind === "ConfigMap").data).toEqual({
      "range-global": "192.0.2.200-192.0.2.210",
    });
  });
});
