/**
 * The AuditFlow CrossGuard policy pack. This file only starts the pack; the policies live one per
 * file under policies/<theme>/, the pack's arguments in pack.ts, and per-stack enforcement under
 * config/<stack>.json.
 *
 *   pulumi preview --policy-pack policy --policy-pack-config policy/config/<stack>.json
 */
import { PolicyPack } from "@pulumi/policy";
import { PACK_NAME, packArgs } from "./pack";

new PolicyPack(PACK_NAME, packArgs);
