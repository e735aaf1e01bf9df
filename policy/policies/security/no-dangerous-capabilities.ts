import { containersOf } from "../../lib/k8s";
import { resourcePolicy } from "../../lib/define";

/** Capabilities that let a container break out of or take over its node. */
export const DANGEROUS = [
  "ALL",
  "SYS_ADMIN",
  "NET_ADMIN",
  "NET_RAW",
  "SYS_PTRACE",
  "SYS_MODULE",
  "SYS_RAWIO",
  "SYS_BOOT",
  "SYS_TIME",
  "DAC_READ_SEARCH",
  "BPF",
  "PERFMON",
  "MAC_ADMIN",
  "MAC_OVERRIDE",
  "SETFCAP",
];

export const noDangerousCapabilities = resourcePolicy({
  name: "no-dangerous-capabilities",
  theme: "security",
  severity: "critical",
  rationale: "SYS_ADMIN, NET_ADMIN and the like are close to root on the node.",
  link: "https://kubernetes.io/docs/concepts/security/pod-security-standards/#baseline",
  description: `No container adds a dangerous capability (${DANGEROUS.join(", ")}).`,
  fix: "remove the capability from securityContext.capabilities.add; use NET_BIND_SERVICE or a higher port instead where that was the reason",
  equivalents: {
    polaris: ["dangerousCapabilities"],
    kubeLinter: ["privilege-escalation-container"],
  },
  workloads: true,
  check: ({ workload }) =>
    containersOf(workload.pod).flatMap(({ c, label }) =>
      (Array.isArray(c?.securityContext?.capabilities?.add)
        ? c.securityContext.capabilities.add
        : []
      )
        .map((cap: string) => String(cap).toUpperCase().replace(/^CAP_/, ""))
        .filter((cap: string) => DANGEROUS.includes(cap))
        .map((cap: string) => `${label} adds capability ${cap}`),
    ),
});
