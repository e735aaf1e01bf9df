import { K8sObject, WORKLOAD_KINDS, workloadOf } from "../../lib/k8s";
import { resourcePolicy } from "../../lib/define";

/** Pods carry this label when they talk to the Kubernetes API and so need a token. */
export const API_ACCESS_LABEL = "auditflow.dev/api-access";

export const serviceAccountTokenAutomount = resourcePolicy({
  name: "service-account-token-automount",
  theme: "rbac",
  severity: "medium",
  rationale: "A mounted token a pod never uses is a free credential for whoever breaks into it.",
  link: "https://kubernetes.io/docs/concepts/security/service-accounts/",
  description:
    "Pods and ServiceAccounts do not mount an API token unless the pod talks to the API (labelled auditflow.dev/api-access=true).",
  fix: "set automountServiceAccountToken: false on the pod spec (and ServiceAccount), or label the pod auditflow.dev/api-access=true if it uses the API",
  genericFix:
    "set automountServiceAccountToken: false on the pod spec and the ServiceAccount unless the pod calls the Kubernetes API",
  equivalents: {
    polaris: ["automountServiceAccountToken"],
  },
  kinds: ["ServiceAccount", ...WORKLOAD_KINDS],
  check: ({ kind, props, workload }) => {
    if (kind === "ServiceAccount") {
      if (props.metadata?.labels?.[API_ACCESS_LABEL] === "true") return [];
      return props.automountServiceAccountToken === false
        ? []
        : ["the ServiceAccount mounts its token into every pod by default"];
    }
    if (!workload) return [];
    if (workload.podLabels?.[API_ACCESS_LABEL] === "true") return [];
    const mount = workload.pod?.automountServiceAccountToken;
    if (mount === true) return ["the pod mounts a ServiceAccount token it does not need"];
    // Unset, the pod follows its ServiceAccount: one of the stack's own is judged above (and off
    // is the tightest there is); the namespace's default one always mounts its token.
    const sa = workload.pod?.serviceAccountName ?? workload.pod?.serviceAccount;
    return mount === undefined && (sa === undefined || sa === "default")
      ? ["the pod mounts the default ServiceAccount's token it does not need"]
      : [];
  },
  remediate: (props: K8sObject) => {
    if (props.kind === "ServiceAccount") {
      return props.metadata?.labels?.[API_ACCESS_LABEL] === "true"
        ? undefined
        : { ...props, automountServiceAccountToken: false };
    }
    const w = workloadOf(`kubernetes:x/v1:${props.kind ?? ""}`, props);
    if (!w || w.podLabels?.[API_ACCESS_LABEL] === "true") return undefined;
    w.pod.automountServiceAccountToken = false;
    return props;
  },
});
