import { apiVersionOf, kindOf } from "../../lib/k8s";
import { resourcePolicy } from "../../lib/define";

/** API versions removed up to the Kubernetes minor the stacks run (K3s v1.34), with the replacement.
 * 1.33 and 1.34 removed no further API versions; the cluster twin's test checks that the 1.34 API
 * server serves none of these. */
const REMOVED: Record<string, { removedIn: string; use: string }> = {
  "extensions/v1beta1": { removedIn: "1.16/1.22", use: "apps/v1 or networking.k8s.io/v1" },
  "apps/v1beta1": { removedIn: "1.16", use: "apps/v1" },
  "apps/v1beta2": { removedIn: "1.16", use: "apps/v1" },
  "networking.k8s.io/v1beta1": { removedIn: "1.22", use: "networking.k8s.io/v1" },
  "rbac.authorization.k8s.io/v1beta1": { removedIn: "1.22", use: "rbac.authorization.k8s.io/v1" },
  "admissionregistration.k8s.io/v1beta1": {
    removedIn: "1.22",
    use: "admissionregistration.k8s.io/v1",
  },
  "apiextensions.k8s.io/v1beta1": { removedIn: "1.22", use: "apiextensions.k8s.io/v1" },
  "policy/v1beta1": { removedIn: "1.25", use: "policy/v1" },
  "batch/v1beta1": { removedIn: "1.25", use: "batch/v1" },
  "autoscaling/v2beta1": { removedIn: "1.25", use: "autoscaling/v2" },
  "autoscaling/v2beta2": { removedIn: "1.26", use: "autoscaling/v2" },
  "flowcontrol.apiserver.k8s.io/v1beta2": {
    removedIn: "1.29",
    use: "flowcontrol.apiserver.k8s.io/v1",
  },
  "flowcontrol.apiserver.k8s.io/v1beta3": {
    removedIn: "1.32",
    use: "flowcontrol.apiserver.k8s.io/v1",
  },
  "storage.k8s.io/v1beta1": { removedIn: "1.22/1.27", use: "storage.k8s.io/v1" },
  "discovery.k8s.io/v1beta1": { removedIn: "1.25", use: "discovery.k8s.io/v1" },
};

export const noDeprecatedApi = resourcePolicy({
  name: "no-deprecated-api",
  theme: "metadata",
  severity: "high",
  rationale: "A removed API version fails the next Kubernetes upgrade.",
  link: "https://kubernetes.io/docs/reference/using-api/deprecation-guide/",
  description:
    "No object uses an API version removed in the Kubernetes release the stacks' K3s runs (1.34).",
  fix: "move the object to the current API version named in the message",
  equivalents: {
    kubeLinter: ["no-extensions-v1beta"],
  },
  check: ({ type, props }) => {
    const version = props.apiVersion ?? apiVersionOf(type);
    const hit = version ? REMOVED[version] : undefined;
    return hit
      ? [`${kindOf(type)} uses ${version}, removed in Kubernetes ${hit.removedIn}; use ${hit.use}`]
      : [];
  },
});
