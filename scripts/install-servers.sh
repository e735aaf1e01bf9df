#!/usr/bin/env bash
# Installs the real servers and tools the conformance tier starts on loopback:
#   - Debian packages: PostgreSQL (server, client, pg_dump), PgBouncer, Redis, RabbitMQ, age (backup
#     encryption), curl (the backup script's S3 client), busybox (the backup image's shell and
#     tools), Alembic with psycopg2 (the migration Job's tool, run through PgBouncer) and
#     prometheus-postgres-exporter (runs the exporter's generated custom queries, e.g. the backup
#     verification metrics).
#   - Versity S3 Gateway (versitygw), an S3-compatible server that checks SigV4 signatures, for the
#     off-site backup copy. Debian ships no S3 server, so it is built from its Go module through the
#     Go module proxy into a per-user cache keyed by version (a warm cache makes this a no-op).
# Idempotent: installs only what is missing. The tests themselves install nothing.
set -euo pipefail
# shellcheck source=scripts/lib/go-build.sh
. "$(dirname "$0")/lib/go-build.sh"

VERSITYGW_VERSION=v1.8.0
vgw_dir="$auditflow_cache/versitygw-$VERSITYGW_VERSION"
# The tests find the binary with `scripts/install-servers.sh --versitygw-path` (prints, installs nothing).
if [ "${1:-}" = "--versitygw-path" ]; then
  echo "$vgw_dir/versitygw"
  exit 0
fi

need=()
command -v pgbouncer >/dev/null 2>&1 || [ -x /usr/sbin/pgbouncer ] || need+=(pgbouncer)
ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || need+=(postgresql)
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
command -v redis-cli >/dev/null 2>&1 || need+=(redis-tools)
[ -x /usr/sbin/rabbitmq-server ] || need+=(rabbitmq-server)
command -v age >/dev/null 2>&1 || need+=(age)
command -v curl >/dev/null 2>&1 || need+=(curl)
command -v zip >/dev/null 2>&1 || need+=(zip)     # K3s' compressed etcd snapshots (twin tier)
command -v unzip >/dev/null 2>&1 || need+=(unzip)
[ -x /usr/bin/busybox ] || need+=(busybox)
command -v alembic >/dev/null 2>&1 || need+=(alembic)
/usr/bin/python3 -c 'import psycopg2' >/dev/null 2>&1 || need+=(python3-psycopg2)
[ -x /usr/bin/prometheus-postgres-exporter ] || need+=(prometheus-postgres-exporter)
if [ ${#need[@]} -eq 0 ]; then
  echo "install-servers: Debian packages all present"
else
  echo "install-servers: installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  # The packages start their services; the tests run their own instances on free ports instead.
  for svc in postgresql redis-server rabbitmq-server pgbouncer prometheus-postgres-exporter; do
    (service "$svc" stop || systemctl stop "$svc") >/dev/null 2>&1 || true
  done
fi

go_build_cached -tag install-servers -label "versitygw $VERSITYGW_VERSION" "$vgw_dir" \
  "github.com/versity/versitygw/cmd/versitygw@$VERSITYGW_VERSION"
echo "install-servers: done"
