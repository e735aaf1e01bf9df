import { K8sObject } from "../../lib/k8s";
import { resourcePolicy } from "../../lib/define";

/** Host paths that hand over the node: container runtime sockets, kubelet and K3s state, /etc, /. */
const SENSITIVE = [
  /^\/$/,
  /^\/etc(\/|$)/,
  /^\/var\/run\/docker\.sock$/,
  /^\/run\/containerd/,
  /^\/var\/run\/containerd/,
  /^\/run\/k3s/,
  /^\/var\/lib\/rancher/,
  /^\/var\/lib\/kubelet/,
  /^\/var\/lib\/docker/,
  /^\/proc(\/|$)/,
  /^\/sys(\/|$)/,
  /^\/root(\/|$)/,
  /^\/dev(\/|$)/,
  /^\/boot(\/|$)/,
];

export const noHostPath = resourcePolicy({
  name: "no-host-path",
  theme: "security",
  severity: "critical",
  rationale:
    "A hostPath volume gives a pod the node's filesystem, and with the runtime socket the node.",
  link: "https://kubernetes.io/docs/concepts/security/pod-security-standards/#baseline",
  description:
    "Pods mount no hostPath volumes; sensitive host paths (runtime sockets, /etc, /proc, kubelet and K3s state) are called out.",
  fix: "use an emptyDir, a ConfigMap/Secret or a PersistentVolumeClaim instead of the hostPath volume (or exempt it with a reason, e.g. a node exporter)",
  equivalents: {
    polaris: ["hostPathSet"],
    kubeLinter: ["sensitive-host-mounts", "docker-sock", "writable-host-mount"],
  },
  workloads: true,
  check: ({ workload }) =>
    (Array.isArray(workload.pod?.volumes) ? workload.pod.volumes : [])
      .filter((v: K8sObject) => v?.hostPath)
      .map((v: K8sObject) => {
        const p = String(v.hostPath.path ?? "");
        const sensitive = SENSITIVE.some((re) => re.test(p));
        return `volume "${v.name}" mounts ${sensitive ? "the sensitive host path" : "host path"} ${p}`;
      }),
});
