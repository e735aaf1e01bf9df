import { grants, rulesOf } from "../../lib/rbac";
import { resourcePolicy } from "../../lib/define";

/** Permissions that amount to running code in other pods, escalating, or acting as someone else. */
const RISKY: { resource: string; verbs: string[]; what: string }[] = [
  { resource: "pods/exec", verbs: ["create", "get"], what: "exec into pods" },
  { resource: "pods/attach", verbs: ["create", "get"], what: "attach to pods" },
  { resource: "pods", verbs: ["create"], what: "create pods" },
  { resource: "nodes/proxy", verbs: ["get", "create"], what: "proxy to kubelets (nodes/proxy)" },
  { resource: "roles", verbs: ["escalate", "bind"], what: "escalate or bind roles" },
  { resource: "clusterroles", verbs: ["escalate", "bind"], what: "escalate or bind cluster roles" },
  { resource: "users", verbs: ["impersonate"], what: "impersonate users" },
  { resource: "groups", verbs: ["impersonate"], what: "impersonate groups" },
  { resource: "serviceaccounts", verbs: ["impersonate"], what: "impersonate service accounts" },
];

export const noRiskyRbacVerbs = resourcePolicy({
  name: "no-risky-rbac-verbs",
  theme: "rbac",
  severity: "high",
  rationale:
    "exec, pod creation, escalate, bind and impersonate let a role gain permissions it was not given.",
  link: "https://kubernetes.io/docs/concepts/security/rbac-good-practices/#privilege-escalation-risks",
  description:
    "No Role or ClusterRole grants pods/exec, pods/attach, create pods, nodes/proxy, escalate, bind or impersonate unless exempted.",
  fix: "remove the permission, or exempt the role with a policy.auditflow.dev/exempt-reason saying why it is needed",
  genericFix:
    "remove the permission, or limit it with resourceNames to the objects it is needed for",
  equivalents: {
    kubeLinter: ["access-to-create-pods"],
    polaris: ["clusterrolePodExecAttach", "rolePodExecAttach"],
  },
  kinds: ["Role", "ClusterRole"],
  check: ({ props }) =>
    rulesOf(props).flatMap((r) =>
      RISKY.filter((x) => grants(r, x.resource, x.verbs)).map(
        (x) => `rule ${r.index} lets the subject ${x.what}`,
      ),
    ),
});
