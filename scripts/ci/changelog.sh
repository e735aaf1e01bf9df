#!/usr/bin/env bash
# Prints the Markdown changelog of a release tag: the commit subjects since the previous semver tag.
# Usage: changelog.sh <tag>   (e.g. v1.4.0; needs the tags fetched: actions/checkout fetch-depth 0)
set -euo pipefail
tag="${1:?usage: changelog.sh <tag>}"
[[ "$tag" =~ ^v(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(-[0-9A-Za-z.-]+)?$ ]] || {
  echo "changelog: '$tag' is not a semver tag such as v1.4.0" >&2
  exit 2
}
previous=$(git tag --list 'v*' --sort=-v:refname --merged "$tag^" | head -n 1)
echo "## $tag"
echo
if [ -n "$previous" ]; then
  echo "Changes since $previous:"
  range="$previous..$tag"
else
  echo "First release."
  range="$tag"
fi
echo
git log --no-merges --format='- %s (%h)' "$range"
