import { K8sObject, replicaRange, workloadOf } from "../../lib/k8s";
import { stackPolicy } from "../../lib/define";

export const spreadReplicas = stackPolicy({
  name: "spread-replicas",
  theme: "availability",
  severity: "medium",
  rationale: "Replicas packed on one node all fail with that node.",
  link: "https://kubernetes.io/docs/concepts/scheduling-eviction/topology-spread-constraints/",
  description:
    "Replicated workloads (more than one replica, or a HorizontalPodAutoscaler maximum above one) spread their pods across nodes (topology spread or pod anti-affinity on the hostname).",
  fix: "add a topologySpreadConstraint on kubernetes.io/hostname (or preferred pod anti-affinity) selecting the workload's pods",
  equivalents: {
    kubeLinter: ["no-anti-affinity"],
    kubeScore: ["deployment-has-host-podantiaffinity", "statefulset-has-host-podantiaffinity"],
  },
  check: (subjects, all) =>
    subjects.flatMap((r) => {
      if (!["Deployment", "StatefulSet", "ReplicaSet"].includes(r.kind)) return [];
      const range = replicaRange(r, all);
      if (!range || range.max <= 1) return [];
      const pod = workloadOf(r.type, r.props)!.pod;
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
      const count = range.by === "spec.replicas" ? `${range.max}` : `up to ${range.max}`;
      return spread || antiOnHost
        ? []
        : [
            {
              urn: r.urn,
              problem: `${r.kind} ${r.props?.metadata?.name ?? r.name}: ${count} replicas may all land on one node`,
            },
          ];
    }),
});
