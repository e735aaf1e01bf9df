/**
 * The K3s API server's audit policy (audit.k8s.io/v1 Policy), typed here and rendered to YAML with
 * the `yaml` library. Who changed what in the cluster is recorded; reads of Secrets and tokens are
 * recorded without their content; the noisy health and watch traffic of the system is left out.
 */
import { stringify } from "yaml";

type Level = "None" | "Metadata" | "Request" | "RequestResponse";
type Stage = "RequestReceived" | "ResponseStarted" | "ResponseComplete" | "Panic";

/** A group of resources in an audit rule. */
export interface GroupResources {
  group: string;
  resources?: string[];
}

/** One audit rule: the first rule that matches a request sets its level. */
export interface AuditRule {
  level: Level;
  users?: string[];
  userGroups?: string[];
  verbs?: string[];
  resources?: GroupResources[];
  namespaces?: string[];
  nonResourceURLs?: string[];
  omitStages?: Stage[];
}

export interface AuditPolicy {
  apiVersion: "audit.k8s.io/v1";
  kind: "Policy";
  omitStages?: Stage[];
  rules: AuditRule[];
}

const WRITE_VERBS = ["create", "update", "patch", "delete", "deletecollection"];

/** The policy every K3s server runs with. */
export const auditPolicy: AuditPolicy = {
  apiVersion: "audit.k8s.io/v1",
  kind: "Policy",
  // One record per request (when it completes), not one more when it arrives.
  omitStages: ["RequestReceived"],
  rules: [
    // Health probes and version discovery carry no change.
    {
      level: "None",
      nonResourceURLs: ["/healthz*", "/livez*", "/readyz*", "/version", "/metrics"],
    },
    // The control plane's own leader elections and node heartbeats.
    {
      level: "None",
      verbs: ["get", "update", "patch"],
      resources: [{ group: "coordination.k8s.io", resources: ["leases"] }],
    },
    { level: "None", resources: [{ group: "", resources: ["events"] }] },
    // Secrets, ConfigMaps and tokens: who touched them, never their content.
    {
      level: "Metadata",
      resources: [
        { group: "", resources: ["secrets", "configmaps", "serviceaccounts/token"] },
        { group: "authentication.k8s.io", resources: ["tokenreviews"] },
      ],
    },
    // exec, attach and port-forward into pods.
    {
      level: "Metadata",
      resources: [{ group: "", resources: ["pods/exec", "pods/attach", "pods/portforward"] }],
    },
    // Every other change with what was asked and what was answered.
    {
      level: "RequestResponse",
      verbs: WRITE_VERBS,
      resources: [
        { group: "" },
        { group: "apps" },
        { group: "batch" },
        { group: "networking.k8s.io" },
        { group: "policy" },
        { group: "rbac.authorization.k8s.io" },
        { group: "admissionregistration.k8s.io" },
        { group: "apiextensions.k8s.io" },
      ],
    },
    // Everything else (reads, other groups): who and what, without bodies.
    { level: "Metadata" },
  ],
};

/** The policy as the YAML file K3s' API server reads (--audit-policy-file). */
export function renderAuditPolicy(policy: AuditPolicy = auditPolicy): string {
  return stringify(policy);
}

/** Where the policy and the log live on each server, and how the log rotates. */
export const AUDIT = {
  policyFile: "/etc/rancher/k3s/audit-policy.yaml",
  logFile: "/var/lib/rancher/k3s/server/logs/audit.log",
  maxAgeDays: 30,
  maxBackups: 10,
  maxSizeMb: 100,
} as const;
