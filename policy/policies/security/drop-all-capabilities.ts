import { containersOf } from "../../lib/k8s";
import { resourcePolicy } from "../../lib/define";

export const dropAllCapabilities = resourcePolicy({
  name: "drop-all-capabilities",
  theme: "security",
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
