import { PlatformNamespace } from "../../components/security/namespace";
import {
  expectRejectedBeforeCreating,
  only,
  runComponent,
  RecordedResource,
} from "../helpers/program";

describe("PlatformNamespace", () => {
  let rs: RecordedResource[];
  beforeAll(async () => {
    rs = await runComponent(
      () =>
        new PlatformNamespace("apps", {
          namespaceName: "auditflow",
          quota: {
            requestsCpu: "1",
            requestsMemory: "1Gi",
            limitsCpu: "2",
            limitsMemory: "2Gi",
            pods: 10,
            persistentVolumeClaims: 2,
          },
          containerDefaults: {
            requests: { cpu: "25m", memory: "32Mi" },
            limits: { cpu: "100m", memory: "64Mi" },
          },
        }),
    );
  });

  test("enforces the restricted Pod Security Standard", () => {
    const ns = only(rs, "kubernetes:core/v1:Namespace");
    expect((ns.inputs.metadata as any).name).toBe("auditflow");
    expect((ns.inputs.metadata as any).labels).toMatchObject({
      "pod-security.kubernetes.io/enforce": "restricted",
      "pod-security.kubernetes.io/audit": "restricted",
      "pod-security.kubernetes.io/warn": "restricted",
      "app.kubernetes.io/part-of": "auditflow",
    });
  });

  test("denies all ingress and egress by default and allows DNS only", () => {
    const deny = only(rs, "kubernetes:networking.k8s.io/v1:NetworkPolicy", "apps-default-deny");
    expect(deny.inputs.spec).toEqual({ podSelector: {}, policyTypes: ["Ingress", "Egress"] });
    const dns = only(rs, "kubernetes:networking.k8s.io/v1:NetworkPolicy", "apps-allow-dns");
    const egress = (dns.inputs.spec as any).egress;
    expect(egress).toHaveLength(1);
    expect(egress[0].ports).toEqual([
      { protocol: "UDP", port: 53 },
      { protocol: "TCP", port: 53 },
    ]);
    expect(egress[0].to[0].podSelector).toEqual({ matchLabels: { "k8s-app": "kube-dns" } });
  });

  test("sets the quota and container defaults from its arguments", () => {
    expect((only(rs, "kubernetes:core/v1:ResourceQuota").inputs.spec as any).hard).toEqual({
      "requests.cpu": "1",
      "requests.memory": "1Gi",
      "limits.cpu": "2",
      "limits.memory": "2Gi",
      pods: "10",
      persistentvolumeclaims: "2",
    });
    expect((only(rs, "kubernetes:core/v1:LimitRange").inputs.spec as any).limits[0]).toEqual({
      type: "Container",
      defaultRequest: { cpu: "25m", memory: "32Mi" },
      default: { cpu: "100m", memory: "64Mi" },
    });
  });

  test("rejects a bad name or level before creating anything", async () => {
    await expectRejectedBeforeCreating(
      () => new PlatformNamespace("x", { namespaceName: "Audit_Flow" }),
      /namespaceName "Audit_Flow" must be a DNS-1123 label/,
    );
    await expectRejectedBeforeCreating(
      () => new PlatformNamespace("x", { namespaceName: "ok", podSecurity: "strict" as any }),
      /podSecurity "strict" is not one of restricted, baseline, privileged/,
    );
  });
});
