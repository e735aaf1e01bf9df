import {
  backupRules,
  DataRuleParams,
  pgbouncerRules,
  postgresRules,
  rabbitmqRules,
  redisRules,
} from "./data";
import { kubernetesRules } from "./kubernetes";
import { nodeRules } from "./node";
import { metaRules, serviceSloRules, SloParams, traefikCertificateRules } from "./platform";
import { RuleGroup } from "./types";

export * from "./types";
export type { DataRuleParams } from "./data";
export type { SloParams } from "./platform";

/** Parameters of the whole rule set. */
export interface RuleParams extends DataRuleParams {
  slo: SloParams;
  /** Namespace of the AuditFlow services (their SLOs are computed there). */
  appsNamespace: string;
  /**
   * Groups other components own (cert-manager's certificate alerts), loaded as they are. Defaults
   * to none.
   */
  extraGroups?: readonly RuleGroup[];
}

/** Every rule group of the platform, one module per area. */
export function allRuleGroups(p: RuleParams): RuleGroup[] {
  return [
    metaRules(),
    nodeRules(),
    kubernetesRules(),
    postgresRules(),
    pgbouncerRules(),
    redisRules(),
    rabbitmqRules(p),
    backupRules(p),
    traefikCertificateRules(),
    ...serviceSloRules(p.slo, p.appsNamespace),
    ...(p.extraGroups ?? []),
  ];
}
