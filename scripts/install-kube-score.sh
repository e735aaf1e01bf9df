#!/usr/bin/env bash
# Builds kube-score (the Kubernetes manifest linter the policy benchmark compares policy:check with)
# from its Go module through the Go module proxy into a per-user cache keyed by version. A warm cache
# makes this a no-op. Prints the binary's path on its last line.
#   scripts/install-kube-score.sh          build when missing, print the path
#   scripts/install-kube-score.sh --path   print the path only (installs nothing)
set -euo pipefail

KUBE_SCORE_VERSION=v1.20.0
dir="${XDG_CACHE_HOME:-$HOME/.cache}/auditflow/kube-score-$KUBE_SCORE_VERSION"
if [ "${1:-}" = "--path" ]; then
  echo "$dir/kube-score"
  exit 0
fi
if [ ! -x "$dir/kube-score" ]; then
  command -v go >/dev/null 2>&1 || {
    echo "install-kube-score: Go is needed to build kube-score $KUBE_SCORE_VERSION; install the Go toolchain" >&2
    exit 2
  }
  echo "install-kube-score: building kube-score $KUBE_SCORE_VERSION into $dir" >&2
  started=$(date +%s)
  rm -rf "$dir.partial" && mkdir -p "$dir.partial"
  if ! GOBIN="$dir.partial" GOFLAGS=-mod=mod go install \
    "github.com/zegl/kube-score/cmd/kube-score@$KUBE_SCORE_VERSION"; then
    echo "install-kube-score: building kube-score failed: is the Go module proxy reachable (go env GOPROXY: $(go env GOPROXY))?" >&2
    exit 2
  fi
  rm -rf "$dir" && mv "$dir.partial" "$dir"
  echo "install-kube-score: built in $(($(date +%s) - started)) s" >&2
fi
echo "$dir/kube-score"
