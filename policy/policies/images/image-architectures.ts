import { K8sObject } from "../../lib/k8s";
import { stackPolicy } from "../../lib/define";

/**
 * Platforms an image resource provides, e.g. ["linux/amd64", "linux/arm64"]: what an image build
 * targets, or what a pulled image's manifest list holds (auditflow:images:PulledImage, whose platforms
 * the program looked up in the registry). Undefined for other resources and unknown values.
 */
function platformsOf(type: string, props: K8sObject): string[] | undefined {
  if (type === "auditflow:images:PulledImage")
    return Array.isArray(props.platforms) ? props.platforms : undefined;
  if (type === "docker-build:index:Image")
    return Array.isArray(props.platforms) ? props.platforms : [];
  if (type === "docker:index/image:Image") {
    const p = props.build?.platform;
    return typeof p === "string" ? p.split(",").map((s) => s.trim()) : [];
  }
  return undefined;
}

/**
 * Images the program builds must cover every CPU architecture the stack's nodes have, or pods land
 * on nodes that cannot run them. The architectures come from the pack config (the stack's nodes).
 */
export const imageArchitectures = stackPolicy<{ architectures?: string[] }>({
  name: "image-architectures",
  theme: "images",
  severity: "high",
  rationale:
    "An image without the node's architecture fails to start on that node (exec format error).",
  link: "https://kubernetes.io/docs/concepts/containers/images/#container-images",
  description:
    "Images the program builds or pulls include every architecture the stack's nodes have.",
  fix: "add the missing linux/<arch> platform to the image build's platforms, or pin a pulled image whose manifest list has it",
  genericFix: "use an image published for every architecture of the cluster's nodes",
  equivalents: {},
  allResources: true,
  config: { architectures: { type: "array", items: { type: "string" }, default: [] } },
  check: (subjects, _all, config) =>
    subjects.flatMap((r) => {
      const platforms = platformsOf(r.type, r.props);
      if (!platforms) return [];
      const missing = (config.architectures ?? []).filter((a) => !platforms.includes(`linux/${a}`));
      return missing.length
        ? [
            {
              urn: r.urn,
              problem:
                r.type === "auditflow:images:PulledImage"
                  ? `pulled image ${String(r.props.image)} lacks ${missing.map((a) => `linux/${a}`).join(", ")} (its manifest list has ${platforms.join(", ") || "no platform"})`
                  : `image build ${r.name} lacks ${missing.map((a) => `linux/${a}`).join(", ")} (builds ${platforms.join(", ") || "the host platform only"})`,
            },
          ]
        : [];
    }),
});
