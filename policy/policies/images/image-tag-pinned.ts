import { containersOf } from "../../lib/k8s";
import { parseImage } from "../../lib/image";
import { resourcePolicy } from "../../lib/define";

export const imageTagPinned = resourcePolicy({
  name: "image-tag-pinned",
  theme: "images",
  severity: "high",
  rationale: "A moving tag means the code that runs can change without any change to the stack.",
  link: "https://kubernetes.io/docs/concepts/containers/images/#image-names",
  description:
    "Every image is pinned: an exact tag or a digest; no missing tag and never `latest`.",
  fix: "pin the image to an exact version (e.g. :1.4.2) or a digest (@sha256:...)",
  equivalents: {
    polaris: ["tagNotSpecified"],
    kubeLinter: ["latest-tag"],
    kubeScore: ["container-image-tag"],
  },
  workloads: true,
  check: ({ workload }) =>
    containersOf(workload.pod).flatMap(({ c, label }) => {
      if (typeof c?.image !== "string") return [];
      const img = parseImage(c.image);
      if (img.digest) return [];
      if (!img.tag) return [`${label} image ${c.image} has no tag`];
      return img.tag === "latest" ? [`${label} image ${c.image} uses the mutable tag latest`] : [];
    }),
});
