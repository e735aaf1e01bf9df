/** Container image references: validation and the parts the platform needs (tag for version labels). */

// registry[:port]/path[:tag][@sha256:digest]; the path is lower-case components separated by / . _ -
const reference =
  /^(?<repo>(?:[a-z0-9.-]+(?::\d+)?\/)?[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*)(?::(?<tag>[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}))?(?:@(?<digest>sha256:[a-f0-9]{64}))?$/;

export interface ImageRef {
  repository: string;
  tag?: string;
  digest?: string;
}

/**
 * Parses an image reference. Returns a problem description instead when the reference is malformed,
 * has neither tag nor digest, or uses the mutable `latest` tag.
 */
export function parseImage(ref: string): ImageRef | { problem: string } {
  const m = reference.exec(ref);
  if (!m?.groups) {
    return {
      problem:
        "is not a valid image reference (expected registry/repository:tag or @sha256:digest)",
    };
  }
  const { repo, tag, digest } = m.groups;
  if (!tag && !digest) {
    return { problem: "has no tag or digest; pin an exact version such as :1.2.3 or @sha256:..." };
  }
  if (tag === "latest") {
    return { problem: "uses the mutable tag 'latest'; pin an exact version or a digest" };
  }
  return { repository: repo!, tag, digest };
}

/** The version to show in `app.kubernetes.io/version`: the tag, else the short digest. */
export function imageVersion(ref: string): string | undefined {
  const parsed = parseImage(ref);
  if ("problem" in parsed) return undefined;
  return parsed.tag ?? parsed.digest?.slice(7, 19);
}
