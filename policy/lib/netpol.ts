/** NetworkPolicy and pod matching across a stack. */
import { K8sObject, selects, workloadOf } from "./k8s";
import type { StackResource } from "./define";

export interface PodGroup {
  owner: StackResource;
  namespace: string | undefined;
  labels: Record<string, string>;
  pod: K8sObject;
}

/** The pod templates of every workload in the stack. */
export function podGroups(resources: StackResource[]): PodGroup[] {
  return resources.flatMap((r) => {
    const w = workloadOf(r.type, r.props);
    return w
      ? [
          {
            owner: r,
            namespace: r.props?.metadata?.namespace,
            labels: w.podLabels ?? {},
            pod: w.pod,
          },
        ]
      : [];
  });
}

/** Whether a label selector (matchLabels and matchExpressions) matches labels. */
export function labelSelectorMatches(
  sel: K8sObject | undefined,
  labels: Record<string, string>,
): boolean {
  if (!sel) return true;
  if (!selects(sel.matchLabels, labels)) return false;
  return (Array.isArray(sel.matchExpressions) ? sel.matchExpressions : []).every((e: K8sObject) => {
    const v = labels[e?.key];
    const values: string[] = Array.isArray(e?.values) ? e.values : [];
    switch (e?.operator) {
      case "In":
        return v !== undefined && values.includes(v);
      case "NotIn":
        return v === undefined || !values.includes(v);
      case "Exists":
        return v !== undefined;
      case "DoesNotExist":
        return v === undefined;
      default:
        return false;
    }
  });
}

/** Items grouped by namespace, so matching within a namespace does not scan the whole stack. */
export function byNamespace<T>(
  items: T[],
  ns: (t: T) => string | undefined,
): Map<string | undefined, T[]> {
  const m = new Map<string | undefined, T[]>();
  for (const it of items) {
    const k = ns(it);
    const list = m.get(k);
    if (list) list.push(it);
    else m.set(k, [it]);
  }
  return m;
}

/** Every Service with a selector, with the pod groups of its namespace that the selector matches. */
export function servicesWithTargets(
  services: StackResource[],
  all: StackResource[],
): { service: StackResource; targets: PodGroup[] }[] {
  const groups = byNamespace(podGroups(all), (g) => g.namespace);
  return services
    .filter(
      (r) =>
        r.kind === "Service" &&
        r.props?.spec?.selector &&
        Object.keys(r.props.spec.selector).length > 0,
    )
    .map((service) => ({
      service,
      targets: (groups.get(service.props?.metadata?.namespace) ?? []).filter((g) =>
        selects(service.props.spec.selector, g.labels),
      ),
    }));
}

/**
 * Whether a NetworkPolicy denies all ingress and egress to every pod of its namespace: an empty pod
 * selector, both policy types and no rules. Nothing is tighter.
 */
export function isDefaultDeny(r: StackResource): boolean {
  if (r.kind !== "NetworkPolicy") return false;
  const s = r.props?.spec ?? {};
  const emptySelector =
    Object.keys(s.podSelector?.matchLabels ?? {}).length === 0 &&
    !(s.podSelector?.matchExpressions?.length > 0);
  const types: string[] = Array.isArray(s.policyTypes) ? s.policyTypes : [];
  return (
    emptySelector &&
    types.includes("Ingress") &&
    types.includes("Egress") &&
    !s.ingress?.length &&
    !s.egress?.length
  );
}

/** The namespaces that have a default-deny NetworkPolicy. */
export function defaultDenyNamespaces(all: StackResource[]): Set<string | undefined> {
  return new Set(all.filter(isDefaultDeny).map((r) => r.props?.metadata?.namespace));
}
