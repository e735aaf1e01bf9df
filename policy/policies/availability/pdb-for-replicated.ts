import { replicaRange, workloadOf } from "../../lib/k8s";
import { labelSelectorMatches } from "../../lib/netpol";
import { stackPolicy } from "../../lib/define";

export const pdbForReplicated = stackPolicy({
  name: "pdb-for-replicated",
  theme: "availability",
  severity: "medium",
  rationale: "Without a budget a voluntary disruption may evict every replica at once.",
  link: "https://kubernetes.io/docs/concepts/workloads/pods/disruptions/",
  description:
    "Every workload with more than one replica (or a HorizontalPodAutoscaler maximum above one) is covered by a PodDisruptionBudget.",
  fix: "add a PodDisruptionBudget (maxUnavailable: 1) selecting the workload's pods",
  equivalents: {
    kubeScore: ["deployment-has-poddisruptionbudget", "statefulset-has-poddisruptionbudget"],
  },
  check: (subjects, all) => {
    const pdbs = all.filter((r) => r.kind === "PodDisruptionBudget");
    return subjects.flatMap((r) => {
      const w = workloadOf(r.type, r.props);
      const range = replicaRange(r, all);
      if (!w || !range || range.max <= 1) return [];
      const ns = r.props?.metadata?.namespace;
      const covered = pdbs.some(
        (p) =>
          p.props?.metadata?.namespace === ns &&
          p.props?.spec?.selector &&
          labelSelectorMatches(p.props.spec.selector, w.podLabels),
      );
      return covered
        ? []
        : [
            {
              urn: r.urn,
              problem: `${r.kind} ${r.props?.metadata?.name ?? r.name} has ${range.by === "spec.replicas" ? range.max : `up to ${range.max} (${range.by})`} replicas and no PodDisruptionBudget`,
            },
          ];
    });
  },
});
