import { containersOf } from "../../lib/k8s";
import { resourcePolicy } from "../../lib/define";

export const readOnlyRootFilesystem = resourcePolicy({
  name: "read-only-root-filesystem",
  theme: "security",
  severity: "medium",
  rationale: "A writable root filesystem lets an intruder change the container's own binaries.",
  link: "https://kubernetes.io/docs/tasks/configure-pod-container/security-context/",
  description: "Every container mounts its root filesystem read-only.",
  fix: "set securityContext.readOnlyRootFilesystem: true and mount an emptyDir where the app must write (e.g. /tmp)",
  equivalents: {
    polaris: ["notReadOnlyRootFilesystem"],
    kubeLinter: ["no-read-only-root-fs"],
    kubeScore: ["container-security-context-readonlyrootfilesystem"],
  },
  workloads: true,
  check: ({ workload }) =>
    containersOf(workload.pod)
      .filter(({ c }) => c?.securityContext?.readOnlyRootFilesystem !== true)
      .map(({ label }) => `${label} has a writable root filesystem`),
});
