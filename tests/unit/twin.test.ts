import * as fs from "fs";
import * as path from "path";
import { k3s } from "../../components/versions";
import { allocatable, nodeObject, reservedFor } from "../../scripts/twin/lib/k3s";
import { notRunOnTwin } from "../../scripts/twin/lib/twin";

const REPO = path.resolve(__dirname, "../..");

test("the twin builds the Kubernetes release of the K3s the stacks install", () => {
  const gomod = fs.readFileSync(path.join(REPO, "tools/twin/k8s/go.mod"), "utf8");
  const pinned = /^(?:require )?\s*k8s\.io\/kubernetes (v\S+)$/m.exec(gomod)?.[1];
  expect(pinned).toBe(k3s.version.replace(/\+k3s\d+$/, ""));
  expect(pinned?.startsWith(`v${k3s.kubernetesMinor}.`)).toBe(true);
  // Every staging module is replaced by the published module of the same release.
  const staging = [...gomod.matchAll(/^\t(k8s\.io\/[a-z-]+) => (k8s\.io\/[a-z-]+) (v\S+)$/gm)];
  expect(staging.length).toBeGreaterThan(25);
  for (const [, from, to, v] of staging) {
    expect([from, v]).toEqual([to, pinned!.replace(/^v1\./, "v0.")]);
  }
});

test("a twin node's allocatable is the declared hardware minus the stack's reservation", () => {
  const reserved = reservedFor("dev");
  expect(reserved).toEqual({ cpu: "500m", memory: "768Mi" });
  const node = { name: "pi", arch: "arm64", cpu: 4, memory: "4Gi", role: "server" };
  expect(allocatable(node, reserved)).toEqual({ cpuMillis: 3500, memory: (4096 - 768) * 2 ** 20 });
  const obj = nodeObject(node, reserved);
  expect(obj.status.allocatable).toMatchObject({
    cpu: "3500m",
    memory: String(3328 * 2 ** 20),
    pods: "110",
  });
  expect(obj.metadata.labels).toMatchObject({
    "kubernetes.io/arch": "arm64",
    "kubernetes.io/hostname": "pi",
    "node-role.kubernetes.io/control-plane": "true",
  });
  expect(obj.spec.taints).toBeUndefined();
  const agent = nodeObject({ ...node, role: "agent" }, reserved);
  expect(agent.metadata.labels["node-role.kubernetes.io/control-plane"]).toBeUndefined();
});

test("the twin names what it accepts but does not run: charts, chart configs and the custom resources of controllers it lacks", () => {
  const objects = [
    {
      apiVersion: "helm.cattle.io/v1",
      kind: "HelmChart",
      metadata: { name: "cert-manager", namespace: "kube-system" },
    },
    {
      apiVersion: "helm.cattle.io/v1",
      kind: "HelmChartConfig",
      metadata: { name: "traefik", namespace: "kube-system" },
    },
    {
      apiVersion: "traefik.io/v1alpha1",
      kind: "IngressRoute",
      metadata: { name: "a", namespace: "x" },
    },
    {
      apiVersion: "traefik.io/v1alpha1",
      kind: "IngressRoute",
      metadata: { name: "b", namespace: "x" },
    },
    { apiVersion: "cert-manager.io/v1", kind: "ClusterIssuer", metadata: { name: "ca" } },
    { apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "d", namespace: "x" } },
  ];
  expect(notRunOnTwin(objects)).toEqual([
    expect.stringMatching(
      /^HelmChart kube-system\/cert-manager: stored, not installed \(no helm-controller/,
    ),
    expect.stringMatching(/^HelmChartConfig kube-system\/traefik: stored, not merged/),
    expect.stringMatching(
      /^2 IngressRoute: accepted and stored under open-schema CRDs \(spec not validated\); Traefik does not run/,
    ),
    expect.stringMatching(/^1 ClusterIssuer: accepted .*; cert-manager does not run/),
  ]);
  expect(notRunOnTwin(objects.slice(5))).toEqual([]);
});
