/**
 * The AuditFlow CrossGuard policy pack. This file only assembles the pack; the policies live one per
 * file under policies/<theme>/, and per-stack enforcement under config/<stack>.json.
 *
 *   pulumi preview --policy-pack policy --policy-pack-config policy/config/<stack>.json
 */
import { PolicyPack } from "@pulumi/policy";
import { policies } from "./policies";

new PolicyPack("auditflow-kubernetes", {
  description: "Kubernetes good practice for the AuditFlow platform",
  enforcementLevel: "advisory",
  policies,
});
