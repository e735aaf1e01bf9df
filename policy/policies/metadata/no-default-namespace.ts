import { resourcePolicy } from "../../lib/define";

/** Kinds that live outside namespaces. */
const CLUSTER_SCOPED = [
  "Namespace",
  "ClusterRole",
  "ClusterRoleBinding",
  "CustomResourceDefinition",
  "PersistentVolume",
  "StorageClass",
  "PriorityClass",
  "IngressClass",
  "Node",
  "ValidatingWebhookConfiguration",
  "MutatingWebhookConfiguration",
  "APIService",
  "RuntimeClass",
  "CSIDriver",
  "ClusterIssuer",
];

export const noDefaultNamespace = resourcePolicy({
  name: "no-default-namespace",
  theme: "metadata",
  severity: "medium",
  rationale:
    "Objects in default escape the quotas, policies and Pod Security labels of the platform's namespaces.",
  link: "https://kubernetes.io/docs/concepts/overview/working-with-objects/namespaces/",
  description: "Namespaced objects name their namespace, and it is not `default`.",
  fix: "set metadata.namespace to the platform namespace the object belongs to",
  genericFix: "set metadata.namespace to a namespace of the application's own",
  equivalents: { kubeLinter: ["use-namespace"] },
  check: ({ kind, props }) => {
    if (CLUSTER_SCOPED.includes(kind)) return [];
    const ns = props.metadata?.namespace;
    return ns === undefined
      ? ["the object sets no namespace (it lands in default)"]
      : ns === "default"
        ? ["the object is in the default namespace"]
        : [];
  },
});
