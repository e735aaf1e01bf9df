import { containersOf } from "../../lib/k8s";
import { effective } from "../../lib/security";
import { resourcePolicy } from "../../lib/define";

export const runAsNonRoot = resourcePolicy({
  name: "run-as-non-root",
  theme: "security",
  severity: "high",
  rationale: "Root in a container is one kernel bug away from root on the node.",
  link: "https://kubernetes.io/docs/concepts/security/pod-security-standards/#restricted",
  description: "Every container runs as non-root: runAsNonRoot true and no runAsUser 0.",
  fix: "set securityContext.runAsNonRoot: true and a non-zero runAsUser (e.g. 10001) on the pod or container",
  equivalents: {
    polaris: ["runAsRootAllowed"],
    kubeLinter: ["run-as-non-root"],
    kubeScore: ["container-security-context-user-group-id"],
  },
  workloads: true,
  check: ({ workload }) =>
    containersOf(workload.pod).flatMap(({ c, label }) => {
      const uid = effective<number>(workload.pod, c, "runAsUser");
      if (uid === 0) return [`${label} runs as UID 0 (root)`];
      return effective<boolean>(workload.pod, c, "runAsNonRoot") === true
        ? []
        : [`${label} does not set runAsNonRoot: true`];
    }),
});
