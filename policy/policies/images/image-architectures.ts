import { containersOf, K8sObject, workloadOf } from "../../lib/k8s";
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

/** The references pods use for an image resource: a build's tags or docker's imageName, a pulled image's reference. */
function referencesOf(props: K8sObject): string[] {
  const refs = [...(Array.isArray(props.tags) ? props.tags : []), props.imageName, props.image];
  return refs.filter((r): r is string => typeof r === "string" && r.length > 0);
}

/**
 * A container's image, or undefined while it is unknown (a preview of an image the program builds:
 * its digest reference exists only once it is pushed). Reading an unknown value throws in the
 * policy runtime; a workload whose image is unknown may use any image resource, so it counts as a
 * user of each.
 */
function imageOf(c: K8sObject | undefined): string | undefined {
  try {
    return String(c?.image ?? "");
  } catch {
    return undefined;
  }
}

/**
 * The architectures a workload's pods can be scheduled onto: the one its `kubernetes.io/arch`
 * nodeSelector names, or every architecture of the stack. (Hostname affinity is not narrowed: the
 * policy's config names architectures, not nodes, so such a workload needs them all.)
 */
function archsOf(pod: K8sObject, all: string[]): string[] {
  const arch = pod?.nodeSelector?.["kubernetes.io/arch"];
  return typeof arch === "string" ? all.filter((a) => a === arch) : all;
}

/**
 * Images must cover every CPU architecture their pods can land on, or those pods fail to pull on
 * nodes the image does not support. The architectures come from the pack config (the stack's
 * nodes); a workload pinned to one architecture with a `kubernetes.io/arch` nodeSelector
 * needs only that one. An image no workload of the program uses must cover all of them (it may run
 * anywhere).
 */
export const imageArchitectures = stackPolicy<{ architectures?: string[] }>({
  name: "image-architectures",
  theme: "images",
  severity: "high",
  rationale:
    "An image without the node's architecture fails to start on that node (exec format error).",
  link: "https://kubernetes.io/docs/concepts/containers/images/#container-images",
  description:
    "Images the program builds or pulls include every architecture their pods can be scheduled on (every architecture the stack's nodes have, unless the pods are pinned to one).",
  fix: "add the missing linux/<arch> platform to the image build's platforms (or pin a pulled image whose manifest list has it), or pin its workloads to the architectures it has",
  genericFix: "use an image published for every architecture of the cluster's nodes",
  equivalents: {},
  allResources: true,
  config: { architectures: { type: "array", items: { type: "string" }, default: [] } },
  check: (subjects, _all, config) => {
    const all = config.architectures ?? [];
    // Each workload's pod and its images (undefined where not yet known), read once for all images.
    const workloads = subjects
      .map((s) => workloadOf(s.type, s.props))
      .filter((w) => w !== undefined)
      .map((w) => ({ pod: w.pod, images: containersOf(w.pod).map((x) => imageOf(x.c)) }));
    return subjects.flatMap((r) => {
      const platforms = platformsOf(r.type, r.props);
      if (!platforms) return [];
      const refs = referencesOf(r.props);
      const users = workloads.filter((w) =>
        w.images.some((image) => image === undefined || refs.includes(image)),
      );
      const needed = users.length
        ? new Set(users.flatMap((w) => archsOf(w.pod, all)))
        : new Set(all);
      const missing = all.filter((a) => needed.has(a) && !platforms.includes(`linux/${a}`));
      if (!missing.length) return [];
      const lacks = missing.map((a) => `linux/${a}`).join(", ");
      const where = users.length
        ? `; its pods can be scheduled on ${missing.join(", ")} nodes`
        : "";
      return [
        {
          urn: r.urn,
          problem:
            r.type === "auditflow:images:PulledImage"
              ? `pulled image ${String(r.props.image)} lacks ${lacks} (its manifest list has ${platforms.join(", ") || "no platform"})${where}`
              : `image build ${r.name} lacks ${lacks} (builds ${platforms.join(", ") || "the host platform only"})${where}`,
        },
      ];
    });
  },
});
