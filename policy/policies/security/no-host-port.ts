import { containersOf, K8sObject } from "../../lib/k8s";
import { resourcePolicy } from "../../lib/define";

export const noHostPort = resourcePolicy({
  name: "no-host-port",
  theme: "security",
  severity: "medium",
  rationale: "A hostPort exposes the pod on the node's address, past NetworkPolicies and Services.",
  link: "https://kubernetes.io/docs/concepts/security/pod-security-standards/#baseline",
  description: "No container binds a port on the node (hostPort).",
  fix: "remove hostPort and reach the container through a Service (or an Ingress)",
  equivalents: { polaris: ["hostPortSet"] },
  workloads: true,
  check: ({ workload }) =>
    containersOf(workload.pod).flatMap(({ c, label }) =>
      (Array.isArray(c?.ports) ? c.ports : [])
        .filter((p: K8sObject) => p?.hostPort !== undefined && p.hostPort !== 0)
        .map((p: K8sObject) => `${label} binds hostPort ${p.hostPort}`),
    ),
});
