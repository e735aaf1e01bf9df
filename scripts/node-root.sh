#!/usr/bin/env bash
# Creates (once) the Debian root the node scripts' conformance tests run in: Debian 12 (bookworm)
# from Debian's apt mirror with debootstrap, plus the packages a prepared node has (OpenSSH server,
# nftables, fail2ban, unattended-upgrades, curl, sudo). The tests copy it per run and never modify
# the cached one. Cached under ~/.cache/auditflow/ keyed by suite and package list; a no-op when
# present. Prints the root's path on its last line.
#   scripts/node-root.sh          create if missing, print the path
#   scripts/node-root.sh --path   print the path only (installs nothing)
set -euo pipefail

suite=bookworm
mirror=http://deb.debian.org/debian
packages=openssh-server,nftables,fail2ban,python3-systemd,unattended-upgrades,curl,ca-certificates,sudo,procps,iproute2,kmod,systemd,openssl
key=$(printf '%s %s' "$suite" "$packages" | sha256sum | cut -c1-12)
root="${XDG_CACHE_HOME:-$HOME/.cache}/auditflow/debian-$suite-node-$key"

if [ "${1:-}" = "--path" ]; then
  echo "$root"
  exit 0
fi
if [ -f "$root/.auditflow-complete" ]; then
  echo "node-root: $root present"
  echo "$root"
  exit 0
fi
[ "$(id -u)" -eq 0 ] || {
  echo "node-root: debootstrap needs root" >&2
  exit 2
}
command -v debootstrap >/dev/null 2>&1 || {
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >/dev/null
}
started=$(date +%s)
rm -rf "$root.partial"
mkdir -p "$(dirname "$root")"
echo "node-root: debootstrap $suite into $root (packages: $packages)"
# Package scripts may try to start services: policy-rc.d refuses, as in a container build.
debootstrap --variant=minbase --include="$packages" "$suite" "$root.partial" "$mirror" >"$root.log" 2>&1 || {
  tail -20 "$root.log" >&2
  echo "node-root: debootstrap failed (log: $root.log)" >&2
  exit 2
}
rm -rf "$root"
mv "$root.partial" "$root"
touch "$root/.auditflow-complete"
echo "node-root: created in $(($(date +%s) - started))s"
echo "$root"
