import { resourcePolicy } from "../../lib/define";

export const noDefaultServiceAccount = resourcePolicy({
  name: "no-default-service-account",
  theme: "rbac",
  severity: "medium",
  rationale: "A shared default account gives every pod in the namespace the same permissions.",
  link: "https://kubernetes.io/docs/concepts/security/service-accounts/",
  description: "Workloads run under their own ServiceAccount, never the namespace's default one.",
  fix: "create a ServiceAccount for the workload and set serviceAccountName to it",
  equivalents: { kubeLinter: ["default-service-account"] },
  workloads: true,
  check: ({ workload }) => {
    const sa = workload.pod?.serviceAccountName ?? workload.pod?.serviceAccount;
    return sa === undefined || sa === "default"
      ? ["the pod runs as the default ServiceAccount"]
      : [];
  },
});
