import { rulesOf } from "../../lib/rbac";
import { stackPolicy } from "../../lib/define";

export const noClusterAdminBinding = stackPolicy({
  name: "no-cluster-admin-binding",
  theme: "rbac",
  severity: "critical",
  rationale: "cluster-admin is every permission on every object; a leaked token owns the cluster.",
  link: "https://kubernetes.io/docs/concepts/security/rbac-good-practices/#least-privilege",
  description: "Nothing is bound to cluster-admin, or to any ClusterRole with wildcard rules.",
  fix: "bind a Role or ClusterRole that grants only the permissions needed",
  equivalents: {
    kubeLinter: ["cluster-admin-role-binding"],
    polaris: ["clusterrolebindingClusterAdmin", "rolebindingClusterAdminRole"],
  },
  check: (subjects, all) => {
    const wildcardRoles = new Set(
      all
        .filter(
          (r) =>
            r.kind === "ClusterRole" &&
            rulesOf(r.props).some((x) => x.verbs.includes("*") && x.resources.includes("*")),
        )
        .map((r) => r.props?.metadata?.name),
    );
    wildcardRoles.add("cluster-admin");
    return subjects
      .filter(
        (r) =>
          (r.kind === "ClusterRoleBinding" || r.kind === "RoleBinding") &&
          r.props?.roleRef?.kind === "ClusterRole",
      )
      .filter((r) => wildcardRoles.has(r.props.roleRef.name))
      .map((r) => ({
        urn: r.urn,
        problem: `${r.kind} ${r.props?.metadata?.name ?? r.name} binds the all-powerful ClusterRole ${r.props.roleRef.name}`,
      }));
  },
});
