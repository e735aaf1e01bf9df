import { containersOf } from "../../lib/k8s";
import { resourcePolicy } from "../../lib/define";

export const imagePullPolicy = resourcePolicy({
  name: "image-pull-policy",
  theme: "images",
  severity: "low",
  rationale: "Always pulling a pinned image only adds a registry dependency at every start.",
  link: "https://kubernetes.io/docs/concepts/containers/images/#image-pull-policy",
  description:
    "Every container states its imagePullPolicy (IfNotPresent for pinned images, or Always); Never is refused.",
  fix: "set imagePullPolicy: IfNotPresent (pinned tag or digest) or Always on the container",
  equivalents: { polaris: ["pullPolicyNotAlways"], kubeScore: ["container-image-pull-policy"] },
  workloads: true,
  check: ({ workload }) =>
    containersOf(workload.pod).flatMap(({ c, label }) => {
      const p = c?.imagePullPolicy;
      if (p === undefined) return [`${label} does not set imagePullPolicy`];
      return p === "Never"
        ? [`${label} uses imagePullPolicy Never, so nodes must be preloaded by hand`]
        : [];
    }),
});
