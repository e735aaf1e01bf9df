import { containersOf } from "../../lib/k8s";
import { resourcePolicy } from "../../lib/define";

export const noUnmaskedProcMount = resourcePolicy({
  name: "no-unmasked-proc-mount",
  theme: "security",
  severity: "high",
  rationale: "An unmasked /proc exposes kernel interfaces that containers must not reach.",
  link: "https://kubernetes.io/docs/concepts/security/pod-security-standards/#baseline",
  description: "No container asks for an Unmasked /proc mount.",
  fix: "remove securityContext.procMount (the Default mount masks sensitive /proc paths)",
  equivalents: { kubeLinter: ["unsafe-proc-mount"] },
  workloads: true,
  check: ({ workload }) =>
    containersOf(workload.pod)
      .filter(
        ({ c }) =>
          c?.securityContext?.procMount !== undefined && c.securityContext.procMount !== "Default",
      )
      .map(({ c, label }) => `${label} uses procMount ${c.securityContext.procMount}`),
});
