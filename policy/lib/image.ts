/** Image references as the image policies read them. */

export interface ImageParts {
  registry: string;
  repository: string;
  tag?: string;
  digest?: string;
}

/** Splits `registry/repo:tag@digest`; Docker Hub short names get `docker.io`. */
export function parseImage(ref: string): ImageParts {
  const [nameTag, digest] = ref.split("@");
  const slash = nameTag!.lastIndexOf("/");
  const colon = nameTag!.lastIndexOf(":");
  const tag = colon > slash ? nameTag!.slice(colon + 1) : undefined;
  const name = colon > slash ? nameTag!.slice(0, colon) : nameTag!;
  const first = name.split("/")[0]!;
  const hasRegistry =
    name.includes("/") && (first.includes(".") || first.includes(":") || first === "localhost");
  return {
    registry: hasRegistry ? first : "docker.io",
    repository: hasRegistry ? name.slice(first.length + 1) : name,
    tag,
    digest,
  };
}
