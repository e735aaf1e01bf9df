#!/usr/bin/env bash
# Runs a command with Node.js >= 22 on PATH and the project's npm dependencies installed.
#
# @pulumi/pulumi needs Node 22, and many machines still ship Node 20. When the node on PATH is older
# than the version pinned in .nvmrc's major, this script installs that exact version from the npm
# registry (the platform package `node-linux-<arch>`, which ships the official binary) into a per-user
# cache and puts it first on PATH. It then runs `npm ci` when node_modules is missing or older than
# package-lock.json, and finally execs the given command.
#
# Usage: scripts/with-node.sh <command> [args...]
#        scripts/with-node.sh --print-path   # prints the directory to prepend to PATH
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
want="$(tr -d ' \n\r' <"$root/.nvmrc")"
want_major="${want%%.*}"

have_major=0
if command -v node >/dev/null 2>&1; then
  have_major="$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)"
fi

if [ "$have_major" -lt "$want_major" ]; then
  case "$(uname -m)" in
    x86_64 | amd64) arch=x64 ;;
    aarch64 | arm64) arch=arm64 ;;
    *) echo "with-node: unsupported CPU architecture $(uname -m); install Node.js $want yourself" >&2; exit 2 ;;
  esac
  cache="${XDG_CACHE_HOME:-$HOME/.cache}/auditflow/node-$want-linux-$arch"
  bin="$cache/node_modules/node-linux-$arch/bin"
  if [ ! -x "$bin/node" ]; then
    command -v npm >/dev/null 2>&1 || { echo "with-node: npm is needed to fetch Node.js $want" >&2; exit 2; }
    echo "with-node: Node.js $(node --version 2>/dev/null || echo none) is older than $want_major; installing Node.js $want into $cache" >&2
    mkdir -p "$cache"
    npm install --prefix "$cache" --no-save --no-package-lock --ignore-scripts --loglevel=error \
      "node-linux-$arch@$want" >&2
    [ -x "$bin/node" ] || { echo "with-node: node-linux-$arch@$want did not provide $bin/node" >&2; exit 2; }
  fi
  export PATH="$bin:$PATH"
fi

if [ "${1:-}" = "--print-path" ]; then
  dirname "$(command -v node)"
  exit 0
fi

# Install dependencies when missing or stale (the lock file changed since the last install).
# `npm install --no-save` installs exactly the versions in package-lock.json without rewriting it.
# (`npm ci` would be the usual choice, but its strict lock check fails where the registry serves no
# packages for other platforms, such as the optional native bindings of jest's resolver for macOS.)
stamp="$root/node_modules/.package-lock.json"
if [ ! -f "$stamp" ] || [ "$root/package-lock.json" -nt "$stamp" ]; then
  echo "with-node: installing npm dependencies from package-lock.json with Node.js $(node --version)" >&2
  (cd "$root" && npm install --no-save --no-audit --no-fund --loglevel=error >&2)
fi

export PATH="$root/node_modules/.bin:$PATH"
exec "$@"
