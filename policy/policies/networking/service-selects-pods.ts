import { byNamespace, podGroups } from "../../lib/netpol";
import { selects } from "../../lib/k8s";
import { stackPolicy } from "../../lib/define";

export const serviceSelectsPods = stackPolicy({
  name: "service-selects-pods",
  theme: "networking",
  description: "Every Service with a selector selects the pods of some workload in its namespace.",
  fix: "make the Service's selector match the workload's pod template labels",
  equivalents: { kubeLinter: ["dangling-service"], kubeScore: ["service-targets-pod"] },
  check: (subjects, all) => {
    const groups = byNamespace(podGroups(all), (g) => g.namespace);
    return subjects
      .filter(
        (r) =>
          r.kind === "Service" &&
          r.props?.spec?.selector &&
          Object.keys(r.props.spec.selector).length > 0,
      )
      .filter(
        (r) =>
          !(groups.get(r.props?.metadata?.namespace) ?? []).some((g) =>
            selects(r.props.spec.selector, g.labels),
          ),
      )
      .map((r) => ({
        urn: r.urn,
        problem: `Service ${r.props?.metadata?.name ?? r.name} selects no pods`,
      }));
  },
});
