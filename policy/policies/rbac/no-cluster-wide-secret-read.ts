import { grants, rulesOf } from "../../lib/rbac";
import { resourcePolicy } from "../../lib/define";

export const noClusterWideSecretRead = resourcePolicy({
  name: "no-cluster-wide-secret-read",
  theme: "rbac",
  severity: "critical",
  rationale: "Reading Secrets cluster-wide reads every credential of every namespace.",
  link: "https://kubernetes.io/docs/concepts/security/rbac-good-practices/#listing-secrets",
  description:
    "No ClusterRole can get, list or watch Secrets (that reads every namespace's secrets).",
  fix: "grant Secret access with a namespaced Role, limited by resourceNames where possible",
  equivalents: { kubeLinter: ["access-to-secrets"] },
  kinds: ["ClusterRole"],
  check: ({ props }) =>
    rulesOf(props)
      .filter(
        (r) =>
          (r.apiGroups.includes("") || r.apiGroups.includes("*")) &&
          grants(r, "secrets", ["get", "list", "watch"]),
      )
      .map((r) => `rule ${r.index} lets the subject read Secrets cluster-wide`),
});
