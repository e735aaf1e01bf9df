import { containersOf } from "../../lib/k8s";
import { resourcePolicy } from "../../lib/define";

export const noPrivilegeEscalation = resourcePolicy({
  name: "no-privilege-escalation",
  theme: "security",
  severity: "high",
  rationale: "Without it a setuid binary can make the process root inside the container.",
  link: "https://kubernetes.io/docs/concepts/security/pod-security-standards/#restricted",
  description: "Every container sets allowPrivilegeEscalation: false.",
  fix: "set securityContext.allowPrivilegeEscalation: false on the container",
  equivalents: {
    polaris: ["privilegeEscalationAllowed"],
    kubeLinter: ["privilege-escalation-container"],
  },
  workloads: true,
  check: ({ workload }) =>
    containersOf(workload.pod)
      .filter(({ c }) => c?.securityContext?.allowPrivilegeEscalation !== false)
      .map(({ label }) => `${label} does not set allowPrivilegeEscalation: false`),
});
