import { K8sObject } from "../../lib/k8s";
import { resourcePolicy } from "../../lib/define";

/** The sysctls Kubernetes considers safe (namespaced and isolated). */
const SAFE = [
  "kernel.shm_rmid_forced",
  "net.ipv4.ip_local_port_range",
  "net.ipv4.tcp_syncookies",
  "net.ipv4.ping_group_range",
  "net.ipv4.ip_unprivileged_port_start",
  "net.ipv4.ip_local_reserved_ports",
  "net.ipv4.tcp_keepalive_time",
  "net.ipv4.tcp_fin_timeout",
  "net.ipv4.tcp_keepalive_intvl",
  "net.ipv4.tcp_keepalive_probes",
];

export const noUnsafeSysctls = resourcePolicy({
  name: "no-unsafe-sysctls",
  theme: "security",
  severity: "high",
  rationale: "Unsafe sysctls change kernel settings for every pod on the node.",
  link: "https://kubernetes.io/docs/tasks/administer-cluster/sysctl-cluster/",
  description: "Pods set only the sysctls Kubernetes deems safe.",
  fix: "remove the sysctl from securityContext.sysctls (tune it on the node if it is truly needed)",
  equivalents: { kubeLinter: ["unsafe-sysctls"] },
  workloads: true,
  check: ({ workload }) =>
    (Array.isArray(workload.pod?.securityContext?.sysctls)
      ? workload.pod.securityContext.sysctls
      : []
    )
      .filter((s: K8sObject) => !SAFE.includes(s?.name))
      .map((s: K8sObject) => `the pod sets the unsafe sysctl ${s?.name}`),
});
