import { EXEMPT_ANNOTATION } from "../../policy/lib/define";
import { mutated, pod, spec } from "./fixtures";

const c0 = (o: any) => pod(o).containers[0];

spec("no-secret-in-env-literal", [
  [
    "literal password",
    () => mutated("Deployment", (o) => c0(o).env.push({ name: "API_TOKEN", value: "abc123" })),
    /sets API_TOKEN to a literal value/,
  ],
]);
spec("no-secret-in-configmap", [
  [
    "password key",
    () => mutated("ConfigMap", (o) => (o.data.db_password = "x")),
    /key db_password looks like a secret/,
  ],
]);
spec("no-duplicate-env", [
  [
    "LOG_LEVEL twice",
    () => mutated("Deployment", (o) => c0(o).env.push({ name: "LOG_LEVEL", value: "debug" })),
    /defines LOG_LEVEL more than once/,
  ],
]);
spec("recommended-labels", [
  [
    "object without labels",
    () => mutated("ConfigMap", (o) => delete o.metadata.labels),
    /labels app.kubernetes.io\/name, app.kubernetes.io\/part-of, app.kubernetes.io\/managed-by are missing/,
  ],
  [
    "pod template without labels",
    () =>
      mutated(
        "Deployment",
        (o) => delete o.spec.template.metadata.labels["app.kubernetes.io/part-of"],
      ),
    /the pod template lacks app.kubernetes.io\/part-of/,
  ],
]);
spec("no-default-namespace", [
  [
    "default namespace",
    () => mutated("ConfigMap", (o) => (o.metadata.namespace = "default")),
    /is in the default namespace/,
  ],
  [
    "no namespace",
    () => mutated("Service", (o) => delete o.metadata.namespace),
    /sets no namespace/,
  ],
]);
spec("selector-matches-template", [
  [
    "mismatch",
    () => mutated("Deployment", (o) => (o.spec.selector.matchLabels = { app: "x" })),
    /selector.matchLabels does not match the pod template labels/,
  ],
]);
spec("no-deprecated-api", [
  [
    "policy/v1beta1 PDB",
    () => mutated("PodDisruptionBudget", (o) => (o.apiVersion = "policy/v1beta1")),
    /PodDisruptionBudget uses policy\/v1beta1, removed in Kubernetes 1.25; use policy\/v1/,
  ],
]);
spec("exemption-has-reason", [
  [
    "exemption without reason",
    () =>
      mutated(
        "Deployment",
        (o) => (o.metadata.annotations = { [EXEMPT_ANNOTATION]: "no-host-path" }),
      ),
    /exempted from no-host-path without a reason, so the exemption is ignored/,
  ],
]);
