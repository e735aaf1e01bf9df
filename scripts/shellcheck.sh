#!/usr/bin/env bash
# Lints every shell script in the repository with shellcheck (part of `npm run lint`): the tracked
# and new, not ignored, `*.sh` files plus .ci/run. `source` directives are followed relative to the
# script's own folder (-x -P SCRIPTDIR), so a script that sources a sibling is checked with it.
# A script's shell comes from its shebang (#!/bin/sh is checked as POSIX sh).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v shellcheck >/dev/null; then
  echo "shellcheck is not installed: apt-get install shellcheck (CI's .ci/run does this)" >&2
  exit 2
fi
mapfile -t listed < <(git ls-files --cached --others --exclude-standard -- '*.sh' | sort -u)
files=()
for f in "${listed[@]}"; do [ -f "$f" ] && files+=("$f"); done
files+=(.ci/run)
shellcheck -x -P SCRIPTDIR "${files[@]}"
echo "shellcheck: ${#files[@]} scripts clean"
