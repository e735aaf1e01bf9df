import { K8sObject } from "../../lib/k8s";
import { resourcePolicy } from "../../lib/define";

export const spreadReplicas = resourcePolicy({
  name: "spread-replicas",
  theme: "availability",
  description:
    "Replicated workloads spread their pods across nodes (topology spread or pod anti-affinity on the hostname).",
  fix: "add a topologySpreadConstraint on kubernetes.io/hostname (or preferred pod anti-affinity) selecting the workload's pods",
  equivalents: {
    kubeLinter: ["no-anti-affinity"],
    kubeScore: ["deployment-has-host-podantiaffinity", "statefulset-has-host-podantiaffinity"],
  },
  kinds: ["Deployment", "StatefulSet", "ReplicaSet"],
  workloads: true,
  check: ({ workload }) => {
    if ((workload!.replicas ?? 1) <= 1) return [];
    const pod = workload!.pod;
    const spread = (
      Array.isArray(pod?.topologySpreadConstraints) ? pod.topologySpreadConstraints : []
    ).some((t: K8sObject) => t?.topologyKey === "kubernetes.io/hostname");
    const anti = pod?.affinity?.podAntiAffinity;
    const terms: K8sObject[] = [
      ...(anti?.requiredDuringSchedulingIgnoredDuringExecution ?? []),
      ...(anti?.preferredDuringSchedulingIgnoredDuringExecution ?? []).map(
        (t: K8sObject) => t?.podAffinityTerm,
      ),
    ];
    const antiOnHost = terms.some((t) => t?.topologyKey === "kubernetes.io/hostname");
    return spread || antiOnHost ? [] : [`${workload!.replicas} replicas may all land on one node`];
  },
});
