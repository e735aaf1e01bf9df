import { mutated, pod, spec } from "./fixtures";

spec("liveness-probe", [
  [
    "missing liveness probe",
    () => mutated("Deployment", (o) => delete pod(o).containers[0].livenessProbe),
    /container "app" has no liveness probe/,
  ],
]);

spec("readiness-probe", [
  [
    "missing readiness probe",
    () => mutated("Deployment", (o) => delete pod(o).containers[0].readinessProbe),
    /container "app" has no readiness probe/,
  ],
]);

spec("probe-port-exists", [
  [
    "probe on an undeclared named port",
    () =>
      mutated("Deployment", (o) => (pod(o).containers[0].livenessProbe.httpGet.port = "metrics")),
    /livenessProbe uses port "metrics", which the container does not declare/,
  ],
  [
    "startup probe on an undeclared tcp port name",
    () =>
      mutated(
        "Deployment",
        (o) => (pod(o).containers[0].startupProbe = { tcpSocket: { port: "admin" } }),
      ),
    /startupProbe uses port "admin"/,
  ],
]);

spec("liveness-differs-from-readiness", [
  [
    "identical probes",
    () =>
      mutated("Deployment", (o) => {
        pod(o).containers[0].readinessProbe = structuredClone(pod(o).containers[0].livenessProbe);
      }),
    /identical liveness and readiness probes/,
  ],
]);
