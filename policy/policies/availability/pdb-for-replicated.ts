import { workloadOf } from "../../lib/k8s";
import { labelSelectorMatches } from "../../lib/netpol";
import { stackPolicy } from "../../lib/define";

export const pdbForReplicated = stackPolicy({
  name: "pdb-for-replicated",
  theme: "availability",
  description: "Every workload with more than one replica is covered by a PodDisruptionBudget.",
  fix: "add a PodDisruptionBudget (maxUnavailable: 1) selecting the workload's pods",
  equivalents: {
    kubeScore: ["deployment-has-poddisruptionbudget", "statefulset-has-poddisruptionbudget"],
  },
  check: (subjects, all) => {
    const pdbs = all.filter((r) => r.kind === "PodDisruptionBudget");
    return subjects.flatMap((r) => {
      const w = workloadOf(r.type, r.props);
      if (!w || (w.replicas ?? 1) <= 1) return [];
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
              problem: `${r.kind} ${r.props?.metadata?.name ?? r.name} has ${w.replicas} replicas and no PodDisruptionBudget`,
            },
          ];
    });
  },
});
