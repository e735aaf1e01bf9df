import { resourcePolicy } from "../../lib/define";

const REQUIRED = [
  "app.kubernetes.io/name",
  "app.kubernetes.io/part-of",
  "app.kubernetes.io/managed-by",
];

export const recommendedLabels = resourcePolicy({
  name: "recommended-labels",
  theme: "metadata",
  severity: "low",
  rationale: "The recommended labels let tools and people find what an object belongs to.",
  link: "https://kubernetes.io/docs/concepts/overview/working-with-objects/common-labels/",
  description: `Every object carries the recommended labels ${REQUIRED.join(", ")} (workloads also on their pod template).`,
  fix: "add the app.kubernetes.io/name, part-of and managed-by labels (the Workload helper sets them)",
  genericFix:
    "add the app.kubernetes.io/name, part-of and managed-by labels to the object and its pod template",
  equivalents: { kubeLinter: ["required-label-owner"] },
  check: ({ props, workload }) => {
    const missing = (labels: Record<string, string> | undefined) =>
      REQUIRED.filter((l) => !labels?.[l]);
    return [
      ...(missing(props.metadata?.labels).length
        ? [`labels ${missing(props.metadata?.labels).join(", ")} are missing`]
        : []),
      ...(workload && workload.kind !== "Pod" && missing(workload.podLabels).length
        ? [`the pod template lacks ${missing(workload.podLabels).join(", ")}`]
        : []),
    ];
  },
});
