#!/usr/bin/env bash
# Builds the Go tools the image and workflow checks use, from their Go modules through the Go module
# proxy, into a per-user cache keyed by version (a warm cache makes each build a no-op):
#   - trivy      (github.com/aquasecurity/trivy, misconfiguration scan of Dockerfiles and manifests)
#   - actionlint (github.com/rhysd/actionlint, GitHub Actions workflow checks)
#   - kube-score (github.com/zegl/kube-score, the linter `npm run bench:policy-check` compares with;
#                 built only when named)
# Usage: install-go-tools.sh [trivy|actionlint|kube-score]...   (default: trivy and actionlint)
#        install-go-tools.sh --path <tool>           (prints the binary's path, builds nothing)
set -euo pipefail
# shellcheck source=scripts/lib/go-build.sh
. "$(dirname "$0")/lib/go-build.sh"

TRIVY_VERSION=v0.74.0
ACTIONLINT_VERSION=v1.7.12
KUBE_SCORE_VERSION=v1.20.0
cache="$auditflow_cache"

# Trivy's encoding/json/v2 use needs the Go toolchain's jsonv2 experiment (as its own build does).
goexperiment_of() {
  if [ "$1" = trivy ]; then echo jsonv2; fi
}

module_of() {
  case "$1" in
    trivy) echo "github.com/aquasecurity/trivy/cmd/trivy@$TRIVY_VERSION" ;;
    actionlint) echo "github.com/rhysd/actionlint/cmd/actionlint@$ACTIONLINT_VERSION" ;;
    kube-score) echo "github.com/zegl/kube-score/cmd/kube-score@$KUBE_SCORE_VERSION" ;;
    *) echo "install-go-tools: unknown tool '$1' (allowed: trivy, actionlint, kube-score)" >&2; exit 2 ;;
  esac
}
dir_of() {
  case "$1" in
    trivy) echo "$cache/trivy-$TRIVY_VERSION" ;;
    actionlint) echo "$cache/actionlint-$ACTIONLINT_VERSION" ;;
    kube-score) echo "$cache/kube-score-$KUBE_SCORE_VERSION" ;;
    *) module_of "$1" ;;
  esac
}

if [ "${1:-}" = "--path" ]; then
  [ -n "${2:-}" ] || { echo "install-go-tools: --path needs a tool name" >&2; exit 2; }
  echo "$(dir_of "$2")/$2"
  exit 0
fi

tools=("$@")
[ ${#tools[@]} -gt 0 ] || tools=(trivy actionlint)
for tool in "${tools[@]}"; do
  module=$(module_of "$tool")
  env=()
  experiment=$(goexperiment_of "$tool")
  [ -z "$experiment" ] || env=(-env "GOEXPERIMENT=$experiment")
  go_build_cached -tag install-go-tools -label "$tool" "${env[@]}" "$(dir_of "$tool")" "$module"
done
