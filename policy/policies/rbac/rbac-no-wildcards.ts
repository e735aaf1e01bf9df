import { rulesOf } from "../../lib/rbac";
import { resourcePolicy } from "../../lib/define";

export const rbacNoWildcards = resourcePolicy({
  name: "rbac-no-wildcards",
  theme: "rbac",
  severity: "high",
  rationale: "Wildcards grant resources and verbs that do not exist yet, and nobody reviewed.",
  link: "https://kubernetes.io/docs/concepts/security/rbac-good-practices/#least-privilege",
  description: "Roles and ClusterRoles name their apiGroups, resources and verbs; no `*`.",
  fix: "list the exact apiGroups, resources and verbs the subject needs instead of *",
  equivalents: { kubeLinter: ["wildcard-in-rules"] },
  kinds: ["Role", "ClusterRole"],
  check: ({ props }) =>
    rulesOf(props).flatMap((r) =>
      (["apiGroups", "resources", "verbs"] as const)
        .filter((f) => r[f].includes("*"))
        .map((f) => `rule ${r.index} uses * in ${f}`),
    ),
});
