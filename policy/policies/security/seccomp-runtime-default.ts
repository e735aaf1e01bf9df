import { containersOf, K8sObject, workloadOf } from "../../lib/k8s";
import { resourcePolicy } from "../../lib/define";

const ALLOWED = ["RuntimeDefault", "Localhost"];

export const seccompRuntimeDefault = resourcePolicy({
  name: "seccomp-runtime-default",
  theme: "security",
  severity: "medium",
  rationale: "Without a seccomp profile every system call is open to the container.",
  link: "https://kubernetes.io/docs/tutorials/security/seccomp/",
  description:
    "Pods run with the RuntimeDefault (or a Localhost) seccomp profile; never Unconfined.",
  fix: "set securityContext.seccompProfile.type: RuntimeDefault on the pod",
  equivalents: { kubeScore: ["container-seccomp-profile"] },
  workloads: true,
  check: ({ workload }) => {
    const podType = workload.pod?.securityContext?.seccompProfile?.type;
    return containersOf(workload.pod).flatMap(({ c, label }) => {
      const type = c?.securityContext?.seccompProfile?.type ?? podType;
      return ALLOWED.includes(type)
        ? []
        : [`${label} runs with seccomp profile ${type ?? "unset (Unconfined on K3s)"}`];
    });
  },
  remediate: (props: K8sObject) => {
    const w = workloadOf(`kubernetes:x/v1:${props.kind ?? "Pod"}`, props);
    if (!w) return undefined;
    w.pod.securityContext = {
      ...(w.pod.securityContext ?? {}),
      seccompProfile: { type: "RuntimeDefault" },
    };
    for (const { c } of containersOf(w.pod)) {
      if (c?.securityContext?.seccompProfile?.type === "Unconfined")
        delete c.securityContext.seccompProfile;
    }
    return props;
  },
});
