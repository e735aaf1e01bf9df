/** Security-context helpers: container settings override the pod's. */
import { K8sObject } from "./k8s";

/** The effective value of a securityContext field for a container (container first, then pod). */
export function effective<T>(pod: K8sObject, c: K8sObject, field: string): T | undefined {
  return (c?.securityContext?.[field] ?? pod?.securityContext?.[field]) as T | undefined;
}
