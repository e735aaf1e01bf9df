import { selects } from "../../lib/k8s";
import { resourcePolicy } from "../../lib/define";

export const selectorMatchesTemplate = resourcePolicy({
  name: "selector-matches-template",
  theme: "metadata",
  severity: "high",
  rationale: "A selector that does not match its template never gets ready pods.",
  link: "https://kubernetes.io/docs/concepts/workloads/controllers/deployment/#selector",
  description: "A workload's selector matches its own pod template labels.",
  fix: "make spec.selector.matchLabels a subset of spec.template.metadata.labels",
  equivalents: { kubeLinter: ["mismatching-selector"] },
  kinds: ["Deployment", "StatefulSet", "DaemonSet", "ReplicaSet"],
  workloads: true,
  check: ({ workload }) =>
    !workload.selector || Object.keys(workload.selector).length === 0
      ? ["the workload has no selector.matchLabels"]
      : selects(workload.selector, workload.podLabels)
        ? []
        : ["selector.matchLabels does not match the pod template labels"],
});
