import { resourcePolicy } from "../../lib/define";

export const noHostNamespaces = resourcePolicy({
  name: "no-host-namespaces",
  theme: "security",
  severity: "critical",
  rationale:
    "Sharing the node's network, PID or IPC namespace lets a pod see and touch the node's processes.",
  link: "https://kubernetes.io/docs/concepts/security/pod-security-standards/#baseline",
  description: "Pods do not share the node's network, PID or IPC namespace.",
  fix: "remove hostNetwork, hostPID and hostIPC from the pod spec (expose ports through a Service instead)",
  equivalents: {
    polaris: ["hostNetworkSet", "hostPIDSet", "hostIPCSet"],
    kubeLinter: ["host-network", "host-pid", "host-ipc"],
  },
  workloads: true,
  check: ({ workload }) =>
    (["hostNetwork", "hostPID", "hostIPC"] as const)
      .filter((f) => workload.pod?.[f] === true)
      .map((f) => `the pod sets ${f}: true`),
});
