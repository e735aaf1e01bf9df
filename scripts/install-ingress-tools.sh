#!/usr/bin/env bash
# Builds the ingress conformance tools into a per-user cache (a warm cache makes this a no-op):
#   - tools/traefik-harness: our Go harness that runs Traefik v3.6.12's own CRD provider, router and
#     middlewares, and cert-manager v1.19.4's ACME client and HTTP-01 solver handler, on loopback.
#     Keyed by a hash of its go.mod, go.sum and sources.
#   - Pebble v2.10.1 and pebble-challtestsrv (Let's Encrypt's test ACME server and its DNS), from
#     their Go module.
#   - promtool (Debian's prometheus package), which checks and unit-tests the certificate alerts.
# Usage: install-ingress-tools.sh            build what is missing
#        install-ingress-tools.sh --paths    print harness, pebble and challtestsrv paths (no build)
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib/go-build.sh
. scripts/lib/go-build.sh

PEBBLE_VERSION=v2.10.1
cache="$auditflow_cache"
src=tools/traefik-harness
hash=$(cat "$src/go.mod" "$src/go.sum" "$src"/*.go "$src"/*.s | sha256sum | cut -c1-16)
harness="$cache/traefik-harness-$hash/traefik-harness"
pebble_dir="$cache/pebble-$PEBBLE_VERSION"

if [ "${1:-}" != "--paths" ] && ! command -v promtool >/dev/null 2>&1; then
  echo "install-ingress-tools: installing Debian's prometheus (for promtool)"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null
  (service prometheus stop || systemctl stop prometheus) >/dev/null 2>&1 || true
fi

if [ "${1:-}" = "--paths" ]; then
  printf '%s\n%s\n%s\n' "$harness" "$pebble_dir/pebble" "$pebble_dir/pebble-challtestsrv"
  exit 0
fi
command -v go >/dev/null 2>&1 || {
  echo "install-ingress-tools: the Go toolchain is needed to build the Traefik harness and Pebble" >&2
  exit 2
}

go_build_cached -tag install-ingress-tools -C "$src" -label "traefik-harness $hash" \
  "$(dirname "$harness")" .
go_build_cached -tag install-ingress-tools -label "pebble $PEBBLE_VERSION" "$pebble_dir" \
  "github.com/letsencrypt/pebble/v2/cmd/pebble@$PEBBLE_VERSION" \
  "github.com/letsencrypt/pebble/v2/cmd/pebble-challtestsrv@$PEBBLE_VERSION"
