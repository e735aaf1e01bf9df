/** Kubernetes recommended labels (app.kubernetes.io/*) shared by every object the platform creates. */
import type * as pulumi from "@pulumi/pulumi";

/** The value of `app.kubernetes.io/part-of` for everything in this program. */
export const partOf = "auditflow";
/** The value of `app.kubernetes.io/managed-by`. */
export const managedBy = "pulumi";

export interface AppIdentity {
  /** `app.kubernetes.io/name`: the application (for example `postgres`, `audit-log-analysis`). */
  name: string;
  /** `app.kubernetes.io/instance`: this installation of it. Defaults to the name. */
  instance?: string;
  /** `app.kubernetes.io/component`: its role in the architecture (api, database, cache, ...). */
  component: string;
  /** `app.kubernetes.io/version`. Defaults to the image tag where one is known. */
  version?: string;
}

/**
 * The labels that select an app's pods: stable over upgrades, so never the version, and only the
 * name and instance, so a component can offer its selector before its pods exist.
 */
export function selectorLabels(id: Pick<AppIdentity, "name" | "instance">): Record<string, string> {
  return {
    "app.kubernetes.io/name": id.name,
    "app.kubernetes.io/instance": id.instance ?? id.name,
  };
}

/** All recommended labels for an app's objects. */
export function recommendedLabels(id: AppIdentity): Record<string, string> {
  return {
    ...selectorLabels(id),
    "app.kubernetes.io/component": id.component,
    "app.kubernetes.io/part-of": partOf,
    "app.kubernetes.io/managed-by": managedBy,
    ...(id.version ? { "app.kubernetes.io/version": labelValue(id.version) } : {}),
  };
}

/** Makes a string a valid label value (63 characters of [A-Za-z0-9._-], alphanumeric at both ends). */
export function labelValue(s: string): string {
  const cleaned = s.replace(/[^A-Za-z0-9._-]/g, "-").slice(0, 63);
  return cleaned.replace(/^[^A-Za-z0-9]+/, "").replace(/[^A-Za-z0-9]+$/, "");
}

/** The namespace and labels a component puts on each object it creates. */
export type ObjectMeta = { namespace: pulumi.Input<string>; labels: Record<string, string> };
