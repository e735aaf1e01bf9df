#!/usr/bin/env bash
# Installs what the monitoring conformance tests run:
#   - Debian packages: prometheus-alertmanager (amtool), prometheus-redis-exporter and
#     prometheus-node-exporter (scraped by the real Prometheus next to the postgres-exporter and
#     RabbitMQ's prometheus plugin that install-servers.sh provides).
#   - From the Go module github.com/prometheus/prometheus at the version in
#     tools/promql-check/go.mod (v0.305.0 = Prometheus 3.5.0, the cluster's image): prometheus and
#     promtool (Debian's 2.42 is built without Kubernetes service discovery, so it rejects the
#     generated configuration; these are built with Kubernetes discovery only, the build tags
#     upstream documents for choosing discovery plugins) and promql-check (tools/promql-check,
#     Prometheus' own PromQL parser). Built through the Go module proxy into a per-user cache keyed
#     by that version and the tool's source (a warm cache makes this a no-op).
#   - pgbouncer_exporter from the Go module github.com/prometheus-community/pgbouncer_exporter at
#     the version tools/pgbouncer-exporter/go.mod pins (the `tool` the cluster's exporter image
#     runs), into its own directory keyed by that version and go.sum.
# Idempotent: installs only what is missing. The tests themselves install nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib/go-build.sh
. scripts/lib/go-build.sh

prom_version=$(awk '$1 == "require" && $2 == "github.com/prometheus/prometheus" { print $3 }' tools/promql-check/go.mod)
if [ -z "$prom_version" ]; then
  echo "install-monitoring-tools: no github.com/prometheus/prometheus requirement in tools/promql-check/go.mod" >&2
  exit 2
fi
src_hash=$(cat tools/promql-check/go.mod tools/promql-check/go.sum tools/promql-check/main.go | sha256sum | cut -c1-12)
dir="$auditflow_cache/prometheus-$prom_version-$src_hash"
pgbe_version=$(awk '$1 == "github.com/prometheus-community/pgbouncer_exporter" { print $2 }' tools/pgbouncer-exporter/go.mod)
pgbe_hash=$(cat tools/pgbouncer-exporter/go.mod tools/pgbouncer-exporter/go.sum | sha256sum | cut -c1-12)
pgbe_dir="$auditflow_cache/pgbouncer-exporter-$pgbe_version-$pgbe_hash"
# The tests find the binaries with `scripts/install-monitoring-tools.sh --bin-dir` and
# `--pgbouncer-exporter` (both install nothing).
if [ "${1:-}" = "--bin-dir" ]; then
  echo "$dir"
  exit 0
fi
if [ "${1:-}" = "--pgbouncer-exporter" ]; then
  echo "$pgbe_dir/pgbouncer_exporter"
  exit 0
fi

need=()
[ -x /usr/bin/amtool ] || need+=(prometheus-alertmanager)
[ -x /usr/bin/prometheus-redis-exporter ] || need+=(prometheus-redis-exporter)
[ -x /usr/bin/prometheus-node-exporter ] || need+=(prometheus-node-exporter)
if [ ${#need[@]} -eq 0 ]; then
  echo "install-monitoring-tools: Debian packages all present"
else
  echo "install-monitoring-tools: installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  # The packages start their services; the tests run their own instances on free ports instead.
  for svc in prometheus prometheus-alertmanager prometheus-redis-exporter prometheus-node-exporter; do
    (service "$svc" stop || systemctl stop "$svc") >/dev/null 2>&1 || true
  done
fi

go_build_cached -tag install-monitoring-tools -C tools/promql-check -mod readonly \
  -label "promql-check ($prom_version)" "$dir" .
go_build_cached -tag install-monitoring-tools -C tools/promql-check -mod readonly \
  -tags remove_all_sd,enable_kubernetes_sd -label "prometheus and promtool ($prom_version)" "$dir" \
  github.com/prometheus/prometheus/cmd/prometheus github.com/prometheus/prometheus/cmd/promtool
go_build_cached -tag install-monitoring-tools -C tools/pgbouncer-exporter -mod readonly \
  -label "pgbouncer_exporter ($pgbe_version)" "$pgbe_dir" \
  github.com/prometheus-community/pgbouncer_exporter
echo "install-monitoring-tools: done"
