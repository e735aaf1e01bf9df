#!/usr/bin/env bash
# Builds the cluster twin's binaries from their Go modules into a per-user cache keyed by version:
#   etcd                                  tools/twin/etcd  (go.etcd.io/etcd/server/v3)
#   etcdctl, etcdutl                      tools/twin/etcd  (`tool`s of that module, same release)
#   kube-apiserver, kube-controller-manager,
#   kube-scheduler, kubectl,
#   kubelet-configmap-volume              tools/twin/k8s   (k8s.io/kubernetes, staging modules replaced)
#   kwok                                  tools/twin/kwok  (sigs.k8s.io/kwok, a `tool` of that module)
# The versions are the ones those go.mod files pin; a binary already in the cache is not rebuilt.
# Prints one progress line per binary and, last, the bin directory of each version (NAME=DIR lines).
# Exit status 2 with the reason when Go is missing or a build fails.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
# shellcheck source=scripts/lib/go-build.sh
. "$root/scripts/lib/go-build.sh"
cache="$auditflow_cache"

command -v go >/dev/null 2>&1 || {
  echo "twin-build: the Go toolchain (go >= 1.26) is needed to build the twin's binaries; install it" >&2
  exit 2
}

# module_version MODULE_DIR MODULE_PATH: the version MODULE_DIR's go.mod selects for MODULE_PATH.
module_version() {
  (cd "$1" && GOFLAGS=-mod=mod go list -m -f '{{.Version}}' "$2")
}

# build NAME DIR MODULE_DIR PACKAGE [LDFLAGS]: builds PACKAGE into DIR/NAME unless it is there.
build() {
  local name="$1" dir="$2"
  go_build_cached -tag twin-build -label "$name $(basename "$dir")" -C "$3" -ldflags "${5:-}" "$dir" "$4"
  # Recorded for the benchmark (npm run bench:twin prints the cold build time of this cache).
  [ -z "$go_build_seconds" ] || echo "$name $go_build_seconds" >>"$dir/build-seconds.txt"
}

etcd_version="$(module_version "$root/tools/twin/etcd" go.etcd.io/etcd/server/v3)"
k8s_version="$(module_version "$root/tools/twin/k8s" k8s.io/kubernetes)"
kwok_version="$(module_version "$root/tools/twin/kwok" sigs.k8s.io/kwok)"

etcd_dir="$cache/etcd-$etcd_version"
k8s_dir="$cache/kubernetes-$k8s_version"
kwok_dir="$cache/kwok-$kwok_version"

build etcd "$etcd_dir" "$root/tools/twin/etcd" .
# etcd's own snapshot tools of the same release (the etcd snapshot restore test uses them).
build etcdctl "$etcd_dir" "$root/tools/twin/etcd" go.etcd.io/etcd/etcdctl/v3
build etcdutl "$etcd_dir" "$root/tools/twin/etcd" go.etcd.io/etcd/etcdutl/v3
# The version stamp is what the API server reports and what kubectl's skew check reads.
minor="${k8s_version#v1.}"
minor="${minor%%.*}"
stamp="-X k8s.io/component-base/version.gitVersion=$k8s_version"
stamp+=" -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$minor"
stamp+=" -X k8s.io/client-go/pkg/version.gitVersion=$k8s_version"
for bin in kube-apiserver kube-controller-manager kube-scheduler kubectl kubelet-configmap-volume; do
  build "$bin" "$k8s_dir" "$root/tools/twin/k8s" "./$bin" "$stamp"
done
build kwok "$kwok_dir" "$root/tools/twin/kwok" sigs.k8s.io/kwok/cmd/kwok

echo "ETCD_BIN=$etcd_dir"
echo "KUBERNETES_BIN=$k8s_dir"
echo "KWOK_BIN=$kwok_dir"
