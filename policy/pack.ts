/**
 * The pack's identity and arguments, shared by index.ts (which serves it to the Pulumi engine) and
 * the offline evaluator (which must fall back to the same pack-wide enforcement level).
 */
import type { PolicyPackArgs } from "@pulumi/policy";
import { policies } from "./policies";

export const PACK_NAME = "auditflow-kubernetes";

export const packArgs: PolicyPackArgs = {
  description: "Kubernetes good practice for the AuditFlow platform",
  enforcementLevel: "advisory",
  policies,
};
