import { containersOf } from "../../lib/k8s";
import { resourcePolicy } from "../../lib/define";

export const dropAllCapabilities = resourcePolicy({
  name: "drop-all-capabilities",
  theme: "security",
  severity: "high",
  rationale: "Capabilities a container keeps are kernel privileges an attacker inherits.",
  link: "https://kubernetes.io/docs/concepts/security/pod-security-standards/#restricted",
  description: "Every container drops ALL Linux capabilities (and adds back only what it needs).",
  fix: 'set securityContext.capabilities.drop: ["ALL"] on the container',
  equivalents: { polaris: ["insecureCapabilities"], kubeLinter: ["drop-net-raw-capability"] },
  workloads: true,
  check: ({ workload }) =>
    containersOf(workload.pod)
      .filter(({ c }) => {
        const drop = c?.securityContext?.capabilities?.drop;
        return !Array.isArray(drop) || !drop.some((d: string) => String(d).toUpperCase() === "ALL");
      })
      .map(({ label }) => `${label} does not drop ALL capabilities`),
});
