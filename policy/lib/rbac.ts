/** RBAC rule helpers. */
import { K8sObject } from "./k8s";

export interface Rule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
  index: number;
}

export function rulesOf(props: K8sObject): Rule[] {
  return (Array.isArray(props?.rules) ? props.rules : []).map((r: K8sObject, index: number) => ({
    apiGroups: Array.isArray(r?.apiGroups) ? r.apiGroups : [],
    resources: Array.isArray(r?.resources) ? r.resources : [],
    verbs: Array.isArray(r?.verbs) ? r.verbs : [],
    index,
  }));
}

export const grants = (rule: Rule, resource: string, verbs: string[]) =>
  (rule.resources.includes(resource) || rule.resources.includes("*")) &&
  (rule.verbs.includes("*") || verbs.some((v) => rule.verbs.includes(v)));
