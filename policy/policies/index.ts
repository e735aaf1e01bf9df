/**
 * Every policy of the pack, in theme order. Importing this module builds the policies but does not
 * start the analyzer, so the offline evaluator, the tests and the benchmark use it directly.
 */
import type { Policies } from "@pulumi/policy";
import { cpuRequestsAndLimits } from "./resources/cpu-requests-and-limits";
import { ephemeralStorageLimits } from "./resources/ephemeral-storage-limits";
import { limitsNotBelowRequests } from "./resources/limits-not-below-requests";
import { memoryRequestsAndLimits } from "./resources/memory-requests-and-limits";
import { stackCapacityFits } from "./resources/stack-capacity-fits";
import { livenessDiffersFromReadiness } from "./probes/liveness-differs-from-readiness";
import { livenessProbe } from "./probes/liveness-probe";
import { probePortExists } from "./probes/probe-port-exists";
import { readinessProbe } from "./probes/readiness-probe";
import { dropAllCapabilities } from "./security/drop-all-capabilities";
import { noDangerousCapabilities } from "./security/no-dangerous-capabilities";
import { noHostNamespaces } from "./security/no-host-namespaces";
import { noHostPath } from "./security/no-host-path";
import { noHostPort } from "./security/no-host-port";
import { noPrivilegeEscalation } from "./security/no-privilege-escalation";
import { noPrivileged } from "./security/no-privileged";
import { noUnmaskedProcMount } from "./security/no-unmasked-proc-mount";
import { noUnsafeSysctls } from "./security/no-unsafe-sysctls";
import { readOnlyRootFilesystem } from "./security/read-only-root-filesystem";
import { runAsNonRoot } from "./security/run-as-non-root";
import { seccompRuntimeDefault } from "./security/seccomp-runtime-default";
import { allowedRegistries } from "./images/allowed-registries";
import { imageArchitectures } from "./images/image-architectures";
import { imagePullPolicy } from "./images/image-pull-policy";
import { imageTagPinned } from "./images/image-tag-pinned";
import { noClusterAdminBinding } from "./rbac/no-cluster-admin-binding";
import { noClusterWideSecretRead } from "./rbac/no-cluster-wide-secret-read";
import { noDefaultServiceAccount } from "./rbac/no-default-service-account";
import { noRiskyRbacVerbs } from "./rbac/no-risky-rbac-verbs";
import { rbacNoWildcards } from "./rbac/rbac-no-wildcards";
import { serviceAccountTokenAutomount } from "./rbac/service-account-token-automount";
import { ingressTls } from "./networking/ingress-tls";
import { ingressClassRequired } from "./networking/ingress-class-required";
import { exposedRouteTls } from "./networking/exposed-route-tls";
import { exposedRouteRateLimit } from "./networking/exposed-route-rate-limit";
import { namespaceDefaultDeny } from "./networking/namespace-default-deny";
import { networkPolicySelectsPods } from "./networking/network-policy-selects-pods";
import { noExternalServiceTypes } from "./networking/no-external-service-types";
import { podSelectedByNetworkPolicy } from "./networking/pod-selected-by-network-policy";
import { serviceSelectsPods } from "./networking/service-selects-pods";
import { serviceTargetPortExists } from "./networking/service-target-port-exists";
import { cronjobDeadlineAndConcurrency } from "./availability/cronjob-deadline-and-concurrency";
import { haReplicas } from "./availability/ha-replicas";
import { jobTtlAndBackoff } from "./availability/job-ttl-and-backoff";
import { pdbAllowsDisruption } from "./availability/pdb-allows-disruption";
import { pdbForReplicated } from "./availability/pdb-for-replicated";
import { rollingUpdateKeepsCapacity } from "./availability/rolling-update-keeps-capacity";
import { spreadReplicas } from "./availability/spread-replicas";
import { noDuplicateEnv } from "./secrets/no-duplicate-env";
import { noSecretInConfigmap } from "./secrets/no-secret-in-configmap";
import { noSecretInEnvLiteral } from "./secrets/no-secret-in-env-literal";
import { exemptionHasReason } from "./metadata/exemption-has-reason";
import { exemptionsListed } from "./metadata/exemptions-listed";
import { noDefaultNamespace } from "./metadata/no-default-namespace";
import { noDeprecatedApi } from "./metadata/no-deprecated-api";
import { recommendedLabels } from "./metadata/recommended-labels";
import { selectorMatchesTemplate } from "./metadata/selector-matches-template";

export const policies: Policies = [
  cpuRequestsAndLimits,
  ephemeralStorageLimits,
  limitsNotBelowRequests,
  memoryRequestsAndLimits,
  stackCapacityFits,
  livenessDiffersFromReadiness,
  livenessProbe,
  probePortExists,
  readinessProbe,
  dropAllCapabilities,
  noDangerousCapabilities,
  noHostNamespaces,
  noHostPath,
  noHostPort,
  noPrivilegeEscalation,
  noPrivileged,
  noUnmaskedProcMount,
  noUnsafeSysctls,
  readOnlyRootFilesystem,
  runAsNonRoot,
  seccompRuntimeDefault,
  allowedRegistries,
  imageArchitectures,
  imagePullPolicy,
  imageTagPinned,
  noClusterAdminBinding,
  noClusterWideSecretRead,
  noDefaultServiceAccount,
  noRiskyRbacVerbs,
  rbacNoWildcards,
  serviceAccountTokenAutomount,
  ingressTls,
  ingressClassRequired,
  exposedRouteTls,
  exposedRouteRateLimit,
  namespaceDefaultDeny,
  networkPolicySelectsPods,
  noExternalServiceTypes,
  podSelectedByNetworkPolicy,
  serviceSelectsPods,
  serviceTargetPortExists,
  cronjobDeadlineAndConcurrency,
  haReplicas,
  jobTtlAndBackoff,
  pdbAllowsDisruption,
  pdbForReplicated,
  rollingUpdateKeepsCapacity,
  spreadReplicas,
  noDuplicateEnv,
  noSecretInConfigmap,
  noSecretInEnvLiteral,
  exemptionHasReason,
  exemptionsListed,
  noDefaultNamespace,
  noDeprecatedApi,
  recommendedLabels,
  selectorMatchesTemplate,
];

export { registry } from "../lib/define";
