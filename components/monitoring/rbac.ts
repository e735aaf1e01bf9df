import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";

export interface ClusterReaderArgs {
  /** Labels of both objects (the component's recommended labels). Required. */
  labels: Record<string, string>;
  /** What the role grants: read verbs only, by the callers' choice. Required. */
  rules: k8s.types.input.rbac.v1.PolicyRule[];
  /** The ServiceAccount bound to it and its namespace. Required. */
  serviceAccount: { name: pulumi.Input<string>; namespace: pulumi.Input<string> };
}

/**
 * A ClusterRole and the ClusterRoleBinding that grants it to one component's ServiceAccount, both
 * named `name` and children of `parent`: how Prometheus, kube-state-metrics and the log agent get
 * their cluster-wide read access.
 */
export function clusterReader(
  name: string,
  args: ClusterReaderArgs,
  parent: pulumi.Resource,
): { role: k8s.rbac.v1.ClusterRole; binding: k8s.rbac.v1.ClusterRoleBinding } {
  const role = new k8s.rbac.v1.ClusterRole(
    name,
    { metadata: { labels: args.labels }, rules: args.rules },
    { parent },
  );
  const binding = new k8s.rbac.v1.ClusterRoleBinding(
    name,
    {
      metadata: { labels: args.labels },
      roleRef: {
        apiGroup: "rbac.authorization.k8s.io",
        kind: "ClusterRole",
        name: role.metadata.name,
      },
      subjects: [
        {
          kind: "ServiceAccount",
          name: args.serviceAccount.name,
          namespace: args.serviceAccount.namespace,
        },
      ],
    },
    { parent },
  );
  return { role, binding };
}
