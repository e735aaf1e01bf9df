import { servicesWithTargets } from "../../lib/netpol";
import { stackPolicy } from "../../lib/define";

export const serviceSelectsPods = stackPolicy({
  name: "service-selects-pods",
  theme: "networking",
  severity: "medium",
  rationale: "A Service that selects no pods answers every request with a connection error.",
  link: "https://kubernetes.io/docs/concepts/services-networking/service/",
  description: "Every Service with a selector selects the pods of some workload in its namespace.",
  fix: "make the Service's selector match the workload's pod template labels",
  equivalents: { kubeLinter: ["dangling-service"], kubeScore: ["service-targets-pod"] },
  check: (subjects, all) =>
    servicesWithTargets(subjects, all)
      .filter(({ targets }) => targets.length === 0)
      .map(({ service: r }) => ({
        urn: r.urn,
        problem: `Service ${r.props?.metadata?.name ?? r.name} selects no pods`,
      })),
});
