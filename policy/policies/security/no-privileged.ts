import { containersOf } from "../../lib/k8s";
import { resourcePolicy } from "../../lib/define";

export const noPrivileged = resourcePolicy({
  name: "no-privileged",
  theme: "security",
  severity: "critical",
  rationale: "A privileged container is root on the node.",
  link: "https://kubernetes.io/docs/concepts/security/pod-security-standards/#baseline",
  description: "No container runs privileged.",
  fix: "remove securityContext.privileged (or set it to false); grant only the specific capability needed",
  equivalents: {
    polaris: ["runAsPrivileged"],
    kubeLinter: ["privileged-container"],
    kubeScore: ["container-security-context-privileged"],
  },
  workloads: true,
  check: ({ workload }) =>
    containersOf(workload.pod)
      .filter(({ c }) => c?.securityContext?.privileged === true)
      .map(({ label }) => `${label} is privileged`),
});
