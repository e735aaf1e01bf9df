import { mutated, pod, spec } from "./fixtures";

const c0 = (o: any) => pod(o).containers[0];

spec("run-as-non-root", [
  [
    "runAsNonRoot unset",
    () =>
      mutated("Deployment", (o) => {
        delete c0(o).securityContext.runAsNonRoot;
        delete pod(o).securityContext.runAsNonRoot;
      }),
    /does not set runAsNonRoot: true/,
  ],
  [
    "UID 0",
    () => mutated("Deployment", (o) => (c0(o).securityContext.runAsUser = 0)),
    /runs as UID 0 \(root\)/,
  ],
]);
spec("no-privileged", [
  [
    "privileged",
    () => mutated("Deployment", (o) => (c0(o).securityContext.privileged = true)),
    /container "app" is privileged/,
  ],
]);
spec("no-privilege-escalation", [
  [
    "escalation allowed",
    () => mutated("Job", (o) => (c0(o).securityContext.allowPrivilegeEscalation = true)),
    /does not set allowPrivilegeEscalation: false/,
  ],
]);
spec("read-only-root-filesystem", [
  [
    "writable root",
    () => mutated("Deployment", (o) => delete c0(o).securityContext.readOnlyRootFilesystem),
    /has a writable root filesystem/,
  ],
]);
spec("drop-all-capabilities", [
  [
    "drops only some",
    () => mutated("Deployment", (o) => (c0(o).securityContext.capabilities.drop = ["NET_RAW"])),
    /does not drop ALL capabilities/,
  ],
]);
spec("no-dangerous-capabilities", [
  [
    "adds SYS_ADMIN",
    () => mutated("Deployment", (o) => (c0(o).securityContext.capabilities.add = ["SYS_ADMIN"])),
    /adds capability SYS_ADMIN/,
  ],
  [
    "adds CAP_NET_RAW",
    () => mutated("Deployment", (o) => (c0(o).securityContext.capabilities.add = ["CAP_NET_RAW"])),
    /adds capability NET_RAW/,
  ],
]);
spec("seccomp-runtime-default", [
  [
    "no profile",
    () => mutated("Deployment", (o) => delete pod(o).securityContext.seccompProfile),
    /seccomp profile unset/,
  ],
  [
    "Unconfined container",
    () =>
      mutated("Deployment", (o) => (c0(o).securityContext.seccompProfile = { type: "Unconfined" })),
    /seccomp profile Unconfined/,
  ],
]);
spec("no-host-namespaces", [
  [
    "hostNetwork",
    () => mutated("Deployment", (o) => (pod(o).hostNetwork = true)),
    /sets hostNetwork: true/,
  ],
  [
    "hostPID and hostIPC",
    () =>
      mutated("Deployment", (o) => {
        pod(o).hostPID = true;
        pod(o).hostIPC = true;
      }),
    /sets host(PID|IPC): true/,
    2,
  ],
]);
spec("no-host-port", [
  [
    "hostPort",
    () => mutated("Deployment", (o) => (c0(o).ports[0].hostPort = 8080)),
    /binds hostPort 8080/,
  ],
]);
spec("no-host-path", [
  [
    "runtime socket",
    () =>
      mutated("Deployment", (o) =>
        pod(o).volumes.push({
          name: "sock",
          hostPath: { path: "/run/containerd/containerd.sock" },
        }),
      ),
    /mounts the sensitive host path \/run\/containerd/,
  ],
  [
    "any host path",
    () =>
      mutated("Deployment", (o) =>
        pod(o).volumes.push({ name: "data", hostPath: { path: "/srv/data" } }),
      ),
    /volume "data" mounts host path \/srv\/data/,
  ],
]);
spec("no-unsafe-sysctls", [
  [
    "kernel.msgmax",
    () =>
      mutated(
        "Deployment",
        (o) => (pod(o).securityContext.sysctls = [{ name: "kernel.msgmax", value: "65536" }]),
      ),
    /unsafe sysctl kernel.msgmax/,
  ],
]);
spec("no-unmasked-proc-mount", [
  [
    "Unmasked",
    () => mutated("Deployment", (o) => (c0(o).securityContext.procMount = "Unmasked")),
    /uses procMount Unmasked/,
  ],
]);
