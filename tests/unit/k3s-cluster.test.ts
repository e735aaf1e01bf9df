import * as pulumi from "@pulumi/pulumi";
import { K3sCluster } from "../../components/cluster/k3s-cluster";
import { runComponent } from "../helpers/program";

const nodes = [
  { name: "s1", address: "10.0.0.1", arch: "arm64", role: "server" },
  { name: "s2", address: "10.0.0.2", arch: "arm64", role: "server" },
  { name: "s3", address: "10.0.0.3", arch: "arm64", role: "server" },
  { name: "a1", address: "10.0.0.4", arch: "amd64", role: "agent" },
] as const;

describe("K3sCluster", () => {
  test("initialises the first server, joins the others, and keeps the token and key secret", async () => {
    let cluster: K3sCluster | undefined;
    const rs = await runComponent(() => {
      cluster = new K3sCluster("k3s", {
        nodes,
        k3sVersion: "v1.31.6+k3s1",
        sshUser: "ops",
        sshPrivateKey: pulumi.secret("PRIVATE-KEY"),
        apiAddress: "k3s.example.internal",
      });
    });
    const installs = rs.filter(
      (r) => r.type === "command:remote:Command" && r.name !== "k3s-kubeconfig",
    );
    expect(installs.map((r) => r.name)).toEqual(["k3s-s1", "k3s-s2", "k3s-s3", "k3s-a1"]);
    const env = (name: string) => installs.find((r) => r.name === name)!.inputs.environment as any;
    expect(env("k3s-s1").INSTALL_K3S_EXEC).toMatch(
      /^server --node-name=s1 --cluster-init --tls-san=k3s.example.internal/,
    );
    expect(env("k3s-s2").INSTALL_K3S_EXEC).toMatch(
      /^server --node-name=s2 --server=https:\/\/10.0.0.1:6443/,
    );
    expect(env("k3s-a1").INSTALL_K3S_EXEC).toBe(
      "agent --node-name=a1 --server=https://10.0.0.1:6443",
    );
    expect(env("k3s-s1").INSTALL_K3S_VERSION).toBe("v1.31.6+k3s1");
    for (const r of installs) {
      // The join token and the SSH key are secrets in state; the command text holds neither.
      expect(r.secretPaths).toEqual(expect.arrayContaining(["environment", "connection"]));
      expect(String(r.inputs.create)).not.toMatch(/K3S_TOKEN=|PRIVATE-KEY/);
    }
    expect(await pulumi.isSecret(cluster!.kubeconfig)).toBe(true);
  });

  test("rejects a cluster without a server and a malformed version", () => {
    const common = { k3sVersion: "v1.31.6+k3s1", sshUser: "ops", sshPrivateKey: "k" };
    expect(() => new K3sCluster("k", { ...common, nodes: [nodes[3]] })).toThrow(
      /at least one node with role "server"/,
    );
    expect(() => new K3sCluster("k", { ...common, nodes, k3sVersion: "1.31" })).toThrow(
      /k3sVersion "1.31" must look like/,
    );
  });
});
