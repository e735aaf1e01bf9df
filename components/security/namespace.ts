import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { partOf, managedBy } from "../lib/labels";
import { dns1123LabelPattern } from "../lib/formats";

/** Pod Security Standards levels (https://kubernetes.io/docs/concepts/security/pod-security-standards/). */
export type PodSecurityLevel = "restricted" | "baseline" | "privileged";
const LEVELS: readonly PodSecurityLevel[] = ["restricted", "baseline", "privileged"];

/** Container requests and limits, as Kubernetes quantities. */
export interface ResourceSizes {
  requests: { cpu: string; memory: string };
  limits: { cpu: string; memory: string };
}

export interface PlatformNamespaceArgs {
  /**
   * The Kubernetes namespace name (a DNS-1123 label). It is set explicitly because Services in other
   * namespaces and NetworkPolicies refer to it by name. Required.
   */
  namespaceName: string;
  /** What lives here, for the `app.kubernetes.io/component` label. Defaults to "platform". */
  component?: string;
  /** Pod Security Admission level enforced (audit and warn use the same level). Defaults to "restricted". */
  podSecurity?: PodSecurityLevel;
  /** ResourceQuota for the namespace. Defaults to no quota. */
  quota?: {
    requestsCpu: string;
    requestsMemory: string;
    limitsCpu: string;
    limitsMemory: string;
    pods: number;
    persistentVolumeClaims?: number;
    requestsStorage?: string;
  };
  /**
   * Requests and limits the LimitRange applies to containers that declare none (every container the
   * program creates declares its own; this protects against ad-hoc pods). Defaults to no LimitRange.
   */
  containerDefaults?: ResourceSizes;
  /**
   * Whether pods here may reach the Kubernetes API server (egress to port 6443/443). Defaults to false.
   */
  allowApiServerEgress?: boolean;
}

/**
 * A namespace that is safe by default: Pod Security Admission labels, a default-deny NetworkPolicy
 * for ingress and egress with DNS egress to the cluster DNS allowed, and optional ResourceQuota and
 * LimitRange. Workloads then open exactly the paths they need with their own NetworkPolicies.
 */
export class PlatformNamespace extends pulumi.ComponentResource {
  /** The namespace name, resolved once the Namespace exists. */
  public readonly name: pulumi.Output<string>;

  constructor(name: string, args: PlatformNamespaceArgs, opts?: pulumi.ComponentResourceOptions) {
    super("auditflow:security:PlatformNamespace", name, {}, opts);
    validate(args);
    const level = args.podSecurity ?? "restricted";
    const labels = {
      "app.kubernetes.io/name": args.namespaceName,
      "app.kubernetes.io/component": args.component ?? "platform",
      "app.kubernetes.io/part-of": partOf,
      "app.kubernetes.io/managed-by": managedBy,
    };

    const ns = new k8s.core.v1.Namespace(
      name,
      {
        metadata: {
          name: args.namespaceName,
          labels: {
            ...labels,
            "pod-security.kubernetes.io/enforce": level,
            "pod-security.kubernetes.io/enforce-version": "latest",
            "pod-security.kubernetes.io/audit": level,
            "pod-security.kubernetes.io/warn": level,
          },
        },
      },
      { parent: this },
    );
    this.name = ns.metadata.name;
    const meta = { namespace: this.name, labels };

    new k8s.networking.v1.NetworkPolicy(
      `${name}-default-deny`,
      {
        metadata: meta,
        spec: { podSelector: {}, policyTypes: ["Ingress", "Egress"] },
      },
      { parent: this },
    );

    new k8s.networking.v1.NetworkPolicy(
      `${name}-allow-dns`,
      {
        metadata: meta,
        spec: {
          podSelector: {},
          policyTypes: ["Egress"],
          egress: [
            {
              to: [
                {
                  namespaceSelector: {
                    matchLabels: { "kubernetes.io/metadata.name": "kube-system" },
                  },
                  podSelector: { matchLabels: { "k8s-app": "kube-dns" } },
                },
              ],
              ports: [
                { protocol: "UDP", port: 53 },
                { protocol: "TCP", port: 53 },
              ],
            },
          ],
        },
      },
      { parent: this },
    );

    if (args.allowApiServerEgress) {
      new k8s.networking.v1.NetworkPolicy(
        `${name}-allow-apiserver`,
        {
          metadata: meta,
          spec: {
            podSelector: { matchLabels: { "auditflow.dev/api-access": "true" } },
            policyTypes: ["Egress"],
            egress: [
              {
                ports: [
                  { protocol: "TCP", port: 6443 },
                  { protocol: "TCP", port: 443 },
                ],
              },
            ],
          },
        },
        { parent: this },
      );
    }

    if (args.quota) {
      const q = args.quota;
      new k8s.core.v1.ResourceQuota(
        `${name}-quota`,
        {
          metadata: meta,
          spec: {
            hard: {
              "requests.cpu": q.requestsCpu,
              "requests.memory": q.requestsMemory,
              "limits.cpu": q.limitsCpu,
              "limits.memory": q.limitsMemory,
              pods: String(q.pods),
              ...(q.persistentVolumeClaims !== undefined
                ? { persistentvolumeclaims: String(q.persistentVolumeClaims) }
                : {}),
              ...(q.requestsStorage ? { "requests.storage": q.requestsStorage } : {}),
            },
          },
        },
        { parent: this },
      );
    }

    if (args.containerDefaults) {
      const d = args.containerDefaults;
      new k8s.core.v1.LimitRange(
        `${name}-limits`,
        {
          metadata: meta,
          spec: {
            limits: [
              {
                type: "Container",
                defaultRequest: { cpu: d.requests.cpu, memory: d.requests.memory },
                default: { cpu: d.limits.cpu, memory: d.limits.memory },
              },
            ],
          },
        },
        { parent: this },
      );
    }

    this.registerOutputs({ name: this.name });
  }
}

function validate(args: PlatformNamespaceArgs): void {
  if (!dns1123LabelPattern.test(args.namespaceName)) {
    throw new Error(
      `PlatformNamespace: namespaceName "${args.namespaceName}" must be a DNS-1123 label (lower-case letters, digits, '-', at most 63 characters)`,
    );
  }
  if (args.podSecurity !== undefined && !LEVELS.includes(args.podSecurity)) {
    throw new Error(
      `PlatformNamespace: podSecurity "${String(args.podSecurity)}" is not one of ${LEVELS.join(", ")}`,
    );
  }
  if (args.quota && (!Number.isInteger(args.quota.pods) || args.quota.pods < 1)) {
    throw new Error(
      `PlatformNamespace: quota.pods must be a whole number >= 1 (got ${args.quota.pods})`,
    );
  }
}
