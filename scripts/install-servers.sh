#!/usr/bin/env bash
# Installs the real servers and tools the conformance tier starts on loopback (Debian packages):
# PostgreSQL (server, client, pg_dump), PgBouncer, Redis, RabbitMQ and age (backup encryption).
# Idempotent: installs only what is missing. The tests themselves install nothing.
set -euo pipefail
need=()
command -v pgbouncer >/dev/null 2>&1 || [ -x /usr/sbin/pgbouncer ] || need+=(pgbouncer)
ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || need+=(postgresql)
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
command -v redis-cli >/dev/null 2>&1 || need+=(redis-tools)
[ -x /usr/sbin/rabbitmq-server ] || need+=(rabbitmq-server)
command -v age >/dev/null 2>&1 || need+=(age)
if [ ${#need[@]} -eq 0 ]; then
  echo "install-servers: all present"
  exit 0
fi
echo "install-servers: installing ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
# The packages start their services; the tests run their own instances on free ports instead.
for svc in postgresql redis-server rabbitmq-server pgbouncer; do
  (service "$svc" stop || systemctl stop "$svc") >/dev/null 2>&1 || true
done
echo "install-servers: done"
