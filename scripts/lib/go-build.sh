# shellcheck shell=bash
# The one way this project builds a binary from a Go module into its per-user cache. Sourced by
# install-servers.sh, install-go-tools.sh, install-monitoring-tools.sh, install-ingress-tools.sh and
# twin/build.sh; each of them keys its cache directories (by version, or by a hash of the sources it
# builds) and calls go_build_cached.
#
# The cache root is $auditflow_cache: ${XDG_CACHE_HOME:-$HOME/.cache}/auditflow. Point
# XDG_CACHE_HOME elsewhere to build into an empty cache (Go's build cache follows it unless GOCACHE
# is set), as scripts/ci/cold-cost.sh does.
#
# Every binary is built with the same settings, so that in one CI run the standard library and every
# dependency two tools share at the same version are compiled once (Go's build cache keys a package
# by its compile settings, and cgo on or off, -trimpath or not, each make a separate copy):
#   CGO_ENABLED=0   pure-Go binaries: no C compiler runs, and the net and os/user packages take
#                   their Go implementations (all the servers here listen on loopback)
#   -trimpath       no build-machine paths in the binaries
#   -buildvcs=false no git stamping (a build inside a clean clone and one from the module cache
#                   compile the same)
#   -ldflags=-s -w  no symbol table and no DWARF: these are test tools, never debugged, and the
#                   binaries are smaller (the link's CPU time barely changes: see the README's
#                   cold-cost figures)

# shellcheck disable=SC2034 # read by the scripts that source this file
auditflow_cache="${XDG_CACHE_HOME:-$HOME/.cache}/auditflow"

# Set by go_build_cached: the seconds the last build took (empty when everything was cached).
go_build_seconds=

# Prints a Go-style binary name for a package argument: the last element of its path, without
# @version; "." is the module directory's name. As in `go build`, a major-version element (v2, v3,
# ...) is skipped: go.etcd.io/etcd/etcdctl/v3 builds etcdctl.
go_binary_name() {
  local pkg="${1%@*}"
  [ "$pkg" != . ] || pkg=$(pwd)
  if [[ "$(basename "$pkg")" =~ ^v[0-9]+$ && "$pkg" == */* ]]; then pkg=$(dirname "$pkg"); fi
  basename "$pkg"
}

# go_build_cached [options] DIR PACKAGE...
#   Builds the command in each PACKAGE into DIR/<name> (see go_binary_name) unless every one of them
#   is already there; a no-op then. The build goes into a fresh directory next to DIR and the
#   binaries are moved in only when all of them built, so an interrupted build leaves nothing that
#   looks finished. Exits 2 with the reason when Go is missing or the build fails.
# Options (before DIR):
#   -C MODDIR      build in the Go module MODDIR (its go.mod selects every version; PACKAGE is a
#                  path in it, "." for the module's own command). Without -C every PACKAGE is
#                  PATH@VERSION and is built with the versions its own module selects, as
#                  `go install PATH@VERSION` does
#   -mod MODE      -mod for a -C build: mod (the default) or readonly
#   -tags TAGS     build tags
#   -ldflags FLAGS linker flags added after "-s -w" (e.g. -X version stamps)
#   -env VAR=VALUE an environment variable for the build (e.g. GOEXPERIMENT=jsonv2); repeatable
#   -tag TEXT      the prefix of the progress lines (default: go-build)
#   -label TEXT    what the progress lines call the build (default: the binary names)
go_build_cached() {
  local moddir="" mod=mod tags="" ldflags="" tag=go-build label="" envs=()
  while [ $# -gt 0 ]; do
    case "$1" in
      -C) moddir="$2" ;;
      -mod) mod="$2" ;;
      -tags) tags="$2" ;;
      -ldflags) ldflags="$2" ;;
      -env) envs+=("$2") ;;
      -tag) tag="$2" ;;
      -label) label="$2" ;;
      -*) echo "go_build_cached: unknown option $1" >&2; exit 2 ;;
      *) break ;;
    esac
    shift 2
  done
  local dir="$1"
  shift
  [ $# -gt 0 ] || { echo "go_build_cached: no package to build into $dir" >&2; exit 2; }

  local names=() pkg missing=0 name
  for pkg in "$@"; do
    if [ -n "$moddir" ]; then
      name=$(cd "$moddir" && go_binary_name "$pkg")
    else
      name=$(go_binary_name "$pkg")
    fi
    names+=("$name")
    [ -x "$dir/$name" ] || missing=1
  done
  label="${label:-${names[*]}}"
  go_build_seconds=
  if [ "$missing" -eq 0 ]; then
    echo "$tag: $label present ($dir)"
    return 0
  fi
  command -v go >/dev/null 2>&1 || {
    echo "$tag: the Go toolchain is needed to build $label; install it" >&2
    exit 2
  }

  echo "$tag: building $label into $dir"
  local started staging ok=1
  started=$(date +%s)
  mkdir -p "$(dirname "$dir")"
  staging=$(mktemp -d "$dir.partial.XXXXXX")
  local flags=(-trimpath -buildvcs=false "-ldflags=-s -w${ldflags:+ $ldflags}")
  [ -z "$tags" ] || flags+=("-tags=$tags")
  if [ -n "$moddir" ]; then
    (cd "$moddir" && env "${envs[@]}" CGO_ENABLED=0 GOFLAGS="-mod=$mod" \
      go build "${flags[@]}" -o "$staging/" "$@") || ok=0
  else
    env "${envs[@]}" CGO_ENABLED=0 GOFLAGS=-mod=mod GOBIN="$staging" \
      go install "${flags[@]}" "$@" || ok=0
  fi
  if [ "$ok" -eq 0 ]; then
    rm -rf "$staging"
    echo "$tag: building $label failed (see above; is the Go module proxy reachable? go env GOPROXY: $(go env GOPROXY))" >&2
    exit 2
  fi
  mkdir -p "$dir"
  for name in "${names[@]}"; do
    mv -f "$staging/$name" "$dir/$name"
  done
  rm -rf "$staging"
  go_build_seconds=$(($(date +%s) - started))
  echo "$tag: $label built in ${go_build_seconds}s"
}
