#!/usr/bin/env bash
# Builds every image under components/images/ (one directory with a Dockerfile each) for linux/amd64
# and linux/arm64 with docker buildx (QEMU emulates the other architecture), as one manifest list,
# tagged sha-<12 digits of the commit> and, for a release, its semver. With PUSH=true it logs in,
# pushes with a registry cache and checks that the pushed manifest list holds both platforms.
# Environment: GITHUB_SHA; REGISTRY (e.g. ghcr.io/auditflow); PUSH (true|false, default false);
# AUDITFLOW_RELEASE (e.g. v1.4.0, optional); REGISTRY_USERNAME and REGISTRY_PASSWORD when pushing.
set -euo pipefail
: "${GITHUB_SHA:?}" "${REGISTRY:?}"
push="${PUSH:-false}"
platforms=linux/amd64,linux/arm64
root="$(cd "$(dirname "$0")/../.." && pwd)"
if [ "$push" = true ]; then
  : "${REGISTRY_USERNAME:?}" "${REGISTRY_PASSWORD:?}"
  printf '%s' "$REGISTRY_PASSWORD" | docker login "${REGISTRY%%/*}" -u "$REGISTRY_USERNAME" --password-stdin
fi
for dockerfile in "$root"/components/images/*/Dockerfile; do
  dir=$(dirname "$dockerfile")
  repo="$REGISTRY/$(basename "$dir")"
  tags=(-t "$repo:sha-${GITHUB_SHA:0:12}")
  if [ -n "${AUDITFLOW_RELEASE:-}" ]; then tags+=(-t "$repo:${AUDITFLOW_RELEASE#v}"); fi
  args=(--platform "$platforms" --cache-from "type=registry,ref=$repo:buildcache")
  if [ "$push" = true ]; then
    args+=(--push --cache-to "type=registry,ref=$repo:buildcache,mode=max,image-manifest=true")
  fi
  echo "build-images: $repo for $platforms (push: $push)"
  docker buildx build "${args[@]}" "${tags[@]}" "$dir"
  if [ "$push" = true ]; then
    listed=$(docker buildx imagetools inspect "$repo:sha-${GITHUB_SHA:0:12}" --format '{{json .Manifest}}')
    for p in amd64 arm64; do
      grep -q "\"architecture\":\"$p\"" <<<"$listed" || {
        echo "build-images: $repo lacks linux/$p in its manifest list" >&2
        exit 1
      }
    done
    echo "build-images: $repo holds linux/amd64 and linux/arm64"
  fi
done
