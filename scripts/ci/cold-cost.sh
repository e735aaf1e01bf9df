#!/usr/bin/env bash
# Measures what the builds of `.ci/run` cost on a fresh machine, without touching the real caches:
# runs each build step .ci/run runs, in the same order, with the cache root (XDG_CACHE_HOME, so
# ~/.cache/auditflow and Go's build cache) and, unless --warm-modules, the Go module cache
# (GOMODCACHE) pointed at an empty temporary directory, under `nice -n 19` so other work on the
# machine goes first. Steps share those caches as they do in one CI run.
# Prints per step: wall seconds, user+sys CPU seconds (load-independent) and CPU seconds divided by
# the cores (a lower bound for the step's wall time on an idle machine: downloads and single-threaded
# links keep it from using every core all the time), then the totals.
# Usage: scripts/ci/cold-cost.sh [--warm-modules] [--keep] [STEP...]
#   STEP: servers node-root ingress monitoring trivy actionlint twin (default: all, in this order)
#   --warm-modules  use the machine's Go module cache (measures without downloads)
#   --keep          keep the temporary directory (its path is printed)
set -euo pipefail
cd "$(dirname "$0")/../.."

all=(servers node-root ingress monitoring trivy actionlint twin)
warm_modules=0 keep=0 steps=()
for arg in "$@"; do
  case "$arg" in
    --warm-modules) warm_modules=1 ;;
    --keep) keep=1 ;;
    servers | node-root | ingress | monitoring | trivy | actionlint | twin) steps+=("$arg") ;;
    *) echo "cold-cost: unknown argument '$arg' (allowed: --warm-modules, --keep, ${all[*]})" >&2; exit 2 ;;
  esac
done
[ ${#steps[@]} -gt 0 ] || steps=("${all[@]}")

command_of() {
  case "$1" in
    servers) echo scripts/install-servers.sh ;;
    node-root) echo scripts/node-root.sh ;;
    ingress) echo scripts/install-ingress-tools.sh ;;
    monitoring) echo scripts/install-monitoring-tools.sh ;;
    trivy) echo scripts/install-go-tools.sh trivy ;;
    actionlint) echo scripts/install-go-tools.sh actionlint ;;
    twin) echo scripts/twin/build.sh ;;
  esac
}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/auditflow-cold-cost.XXXXXX")
cleanup() {
  if [ "$keep" -eq 1 ]; then
    echo "cold-cost: kept $tmp"
  else
    # The module cache is read-only by design.
    chmod -R u+w "$tmp" 2>/dev/null || true
    rm -rf "$tmp"
  fi
}
trap cleanup EXIT
export XDG_CACHE_HOME="$tmp/cache" GOCACHE="$tmp/cache/go-build"
modules="warm ($(go env GOMODCACHE))"
if [ "$warm_modules" -eq 0 ]; then
  export GOMODCACHE="$tmp/gomod"
  modules="empty"
fi
cores=$(nproc)
echo "cold-cost: $(go version | cut -d' ' -f3), $cores cores, Go module cache $modules, load average at start $(cut -d' ' -f1-3 /proc/loadavg)"

rows=()
for s in "${steps[@]}"; do
  read -r -a cmd <<<"$(command_of "$s")"
  echo "cold-cost: $s: ${cmd[*]} (log: $tmp/$s.log)"
  TIMEFORMAT='%R %U %S'
  if ! { time nice -n 19 bash "${cmd[@]}" >"$tmp/$s.log" 2>&1; } 2>"$tmp/$s.time"; then
    tail -20 "$tmp/$s.log" >&2
    echo "cold-cost: step $s failed" >&2
    keep=1
    exit 1
  fi
  read -r wall user sys <"$tmp/$s.time"
  rows+=("$s $wall $user $sys")
done

echo
printf '%-12s %10s %12s %14s\n' step "wall s" "CPU s" "CPU/$cores s"
printf '%s\n' "${rows[@]}" | awk -v cores="$cores" '
  { cpu = $3 + $4; w += $2; c += cpu
    printf "%-12s %10.0f %12.0f %14.0f\n", $1, $2, cpu, cpu / cores }
  END { printf "%-12s %10.0f %12.0f %14.0f\n", "total", w, c, c / cores }'
echo "cold-cost: load average at end $(cut -d' ' -f1-3 /proc/loadavg)"
