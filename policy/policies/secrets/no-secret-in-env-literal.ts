import { containersOf, K8sObject } from "../../lib/k8s";
import { SECRET_NAME } from "../../lib/secrets";
import { resourcePolicy } from "../../lib/define";

export const noSecretInEnvLiteral = resourcePolicy({
  name: "no-secret-in-env-literal",
  theme: "secrets",
  severity: "high",
  rationale: "A literal secret lands in the manifest, the state and every reader of the pod spec.",
  link: "https://kubernetes.io/docs/concepts/security/secrets-good-practices/",
  description: "No secret-looking environment variable (PASSWORD, TOKEN, ...) has a literal value.",
  fix: "move the value into a Kubernetes Secret and use valueFrom.secretKeyRef",
  equivalents: { kubeLinter: ["env-var-secret"] },
  workloads: true,
  check: ({ workload }) =>
    containersOf(workload.pod).flatMap(({ c, label }) =>
      (Array.isArray(c?.env) ? c.env : [])
        .filter(
          (e: K8sObject) =>
            SECRET_NAME.test(String(e?.name)) && typeof e?.value === "string" && e.value !== "",
        )
        .map((e: K8sObject) => `${label} sets ${e.name} to a literal value`),
    ),
});
