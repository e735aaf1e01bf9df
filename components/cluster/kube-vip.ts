/**
 * kube-vip in ARP mode as typed Kubernetes objects rendered to one YAML file that K3s applies from
 * its auto-deploy manifests directory (/var/lib/rancher/k3s/server/manifests) on every server:
 *
 * - a DaemonSet on the control-plane nodes that holds the API server's virtual IP (leader election
 *   through a Lease, so the address moves to a surviving server within seconds) and announces the
 *   addresses of LoadBalancer Services;
 * - kube-vip's cloud provider, which gives each LoadBalancer Service an address from the configured
 *   range (K3s' servicelb stays disabled: it publishes node addresses, not a virtual IP).
 *
 * These run with host networking and NET_ADMIN/NET_RAW (they must own an address on the node's
 * interface), like K3s' own system components; they are node plumbing delivered by K3s, not
 * workloads the policy pack governs, which is why they are not Pulumi Kubernetes resources.
 */
import { stringify } from "yaml";
import { kubeVipImages } from "../versions";

export interface KubeVipArgs {
  /** The API server's virtual IP (IPv4). */
  address: string;
  /** Network interface that carries the address on every server, e.g. eth0. */
  interface: string;
  /** Addresses for LoadBalancer Services: a range "a.b.c.d-a.b.c.e" or a CIDR. */
  servicesRange: string;
}

const labels = (name: string) => ({
  "app.kubernetes.io/name": name,
  "app.kubernetes.io/part-of": "auditflow",
  "app.kubernetes.io/managed-by": "k3s-manifests",
});

/** The objects, in apply order. */
export function kubeVipObjects(a: KubeVipArgs): Record<string, unknown>[] {
  const ns = "kube-system";
  const sa = (name: string) => ({
    apiVersion: "v1",
    kind: "ServiceAccount",
    metadata: { name, namespace: ns, labels: labels(name) },
  });
  const role = (name: string, rules: unknown[]) => [
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRole",
      metadata: { name, labels: labels(name) },
      rules,
    },
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRoleBinding",
      metadata: { name, labels: labels(name) },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name },
      subjects: [{ kind: "ServiceAccount", name, namespace: ns }],
    },
  ];
  const env = (o: Record<string, string>) =>
    Object.entries(o).map(([name, value]) => ({ name, value }));
  return [
    sa("kube-vip"),
    ...role("kube-vip", [
      { apiGroups: [""], resources: ["services/status"], verbs: ["update"] },
      {
        apiGroups: [""],
        resources: ["services", "endpoints"],
        verbs: ["list", "get", "watch", "update"],
      },
      { apiGroups: [""], resources: ["nodes"], verbs: ["list", "get", "watch", "update", "patch"] },
      {
        apiGroups: ["coordination.k8s.io"],
        resources: ["leases"],
        verbs: ["list", "get", "watch", "update", "create"],
      },
      {
        apiGroups: ["discovery.k8s.io"],
        resources: ["endpointslices"],
        verbs: ["list", "get", "watch", "update"],
      },
    ]),
    {
      apiVersion: "apps/v1",
      kind: "DaemonSet",
      metadata: { name: "kube-vip", namespace: ns, labels: labels("kube-vip") },
      spec: {
        selector: { matchLabels: { "app.kubernetes.io/name": "kube-vip" } },
        template: {
          metadata: { labels: labels("kube-vip") },
          spec: {
            serviceAccountName: "kube-vip",
            hostNetwork: true,
            nodeSelector: { "node-role.kubernetes.io/control-plane": "true" },
            tolerations: [
              { effect: "NoSchedule", operator: "Exists" },
              { effect: "NoExecute", operator: "Exists" },
            ],
            containers: [
              {
                name: "kube-vip",
                image: kubeVipImages.kubeVip,
                imagePullPolicy: "IfNotPresent",
                args: ["manager"],
                env: env({
                  vip_arp: "true",
                  port: "6443",
                  vip_interface: a.interface,
                  vip_cidr: "32",
                  cp_enable: "true",
                  cp_namespace: ns,
                  svc_enable: "true",
                  vip_leaderelection: "true",
                  vip_leasename: "plndr-cp-lock",
                  vip_leaseduration: "5",
                  vip_renewdeadline: "3",
                  vip_retryperiod: "1",
                  address: a.address,
                }),
                resources: {
                  requests: { cpu: "20m", memory: "32Mi" },
                  limits: { cpu: "200m", memory: "96Mi" },
                },
                securityContext: { capabilities: { drop: ["ALL"], add: ["NET_ADMIN", "NET_RAW"] } },
              },
            ],
          },
        },
      },
    },
    sa("kube-vip-cloud-provider"),
    ...role("kube-vip-cloud-provider", [
      {
        apiGroups: ["coordination.k8s.io"],
        resources: ["leases"],
        verbs: ["get", "create", "update", "list", "put"],
      },
      {
        apiGroups: [""],
        resources: ["configmaps", "endpoints", "events", "services/status", "leases"],
        verbs: ["*"],
      },
      {
        apiGroups: [""],
        resources: ["nodes", "services"],
        verbs: ["list", "get", "watch", "update"],
      },
    ]),
    {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "kubevip", namespace: ns, labels: labels("kube-vip-cloud-provider") },
      data: { [a.servicesRange.includes("/") ? "cidr-global" : "range-global"]: a.servicesRange },
    },
    {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: {
        name: "kube-vip-cloud-provider",
        namespace: ns,
        labels: labels("kube-vip-cloud-provider"),
      },
      spec: {
        replicas: 1,
        selector: { matchLabels: { "app.kubernetes.io/name": "kube-vip-cloud-provider" } },
        template: {
          metadata: { labels: labels("kube-vip-cloud-provider") },
          spec: {
            serviceAccountName: "kube-vip-cloud-provider",
            nodeSelector: { "node-role.kubernetes.io/control-plane": "true" },
            tolerations: [{ effect: "NoSchedule", operator: "Exists" }],
            containers: [
              {
                name: "kube-vip-cloud-provider",
                image: kubeVipImages.cloudProvider,
                imagePullPolicy: "IfNotPresent",
                command: [
                  "/kube-vip-cloud-provider",
                  "--leader-elect-resource-name=kube-vip-cloud-controller",
                ],
                resources: {
                  requests: { cpu: "10m", memory: "32Mi" },
                  limits: { cpu: "100m", memory: "64Mi" },
                },
                securityContext: {
                  runAsNonRoot: true,
                  runAsUser: 65532,
                  readOnlyRootFilesystem: true,
                  allowPrivilegeEscalation: false,
                  capabilities: { drop: ["ALL"] },
                },
              },
            ],
          },
        },
      },
    },
  ];
}

/** The manifest file K3s applies. */
export function renderKubeVip(a: KubeVipArgs): string {
  return kubeVipObjects(a)
    .map((o) => stringify(o))
    .join("---\n");
}
