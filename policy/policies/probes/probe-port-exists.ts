import { containersOf, K8sObject } from "../../lib/k8s";
import { resourcePolicy } from "../../lib/define";

const PROBES = ["livenessProbe", "readinessProbe", "startupProbe"] as const;

/** The port a probe targets (httpGet, tcpSocket or grpc), or undefined for exec probes. */
function probePort(p: K8sObject | undefined): string | number | undefined {
  return p?.httpGet?.port ?? p?.tcpSocket?.port ?? p?.grpc?.port;
}

export const probePortExists = resourcePolicy({
  name: "probe-port-exists",
  theme: "probes",
  severity: "high",
  rationale: "A probe on a port the container does not declare always fails.",
  link: "https://kubernetes.io/docs/tasks/configure-pod-container/configure-liveness-readiness-startup-probes/",
  description:
    "A probe's named port is declared on its container (numbered ports are taken as given).",
  fix: "name the port in the container's ports list, or point the probe at a declared port",
  equivalents: { kubeLinter: ["liveness-port", "readiness-port", "startup-port"] },
  workloads: true,
  check: ({ workload }) =>
    containersOf(workload.pod).flatMap(({ c, label }) => {
      const names = new Set((c?.ports ?? []).map((p: K8sObject) => p?.name));
      return PROBES.flatMap((probe) => {
        const port = probePort(c?.[probe]);
        return typeof port === "string" && !names.has(port)
          ? [`${label} ${probe} uses port "${port}", which the container does not declare`]
          : [];
      });
    }),
});
