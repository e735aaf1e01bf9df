import { containersOf } from "../../lib/k8s";
import { parseImage } from "../../lib/image";
import { resourcePolicy } from "../../lib/define";

export const allowedRegistries = resourcePolicy<{ registries?: string[] }>({
  name: "allowed-registries",
  theme: "images",
  severity: "high",
  rationale: "Images from an unvetted registry are code nobody reviewed running in the cluster.",
  link: "https://kubernetes.io/docs/concepts/containers/images/",
  description: "Images come only from the registries the pack config allows.",
  fix: "pull the image from an allowed registry (mirror it there), or add the registry to the pack config's allowed-registries list",
  genericFix: "pull the image from a registry the cluster trusts (mirror it there)",
  equivalents: {},
  config: { registries: { type: "array", items: { type: "string" }, default: [] } },
  workloads: true,
  check: ({ workload, config }) => {
    const allowed = config.registries ?? [];
    if (allowed.length === 0) return [];
    return containersOf(workload.pod).flatMap(({ c, label }) => {
      if (typeof c?.image !== "string") return [];
      const { registry } = parseImage(c.image);
      return allowed.includes(registry)
        ? []
        : [`${label} image ${c.image} comes from ${registry}, not one of ${allowed.join(", ")}`];
    });
  },
});
