#!/usr/bin/env bash
# Prints the stacks of the project as a JSON list, one per Pulumi.<stack>.yaml file, sorted; the
# workflows build their per-stack matrices from it, so a new stack file is picked up by itself.
# Usage: stack-matrix.sh [project-dir]   (default: the repository root)
set -euo pipefail
dir="${1:-$(dirname "$0")/../..}"
stacks=()
for f in "$dir"/Pulumi.*.yaml; do
  [ -e "$f" ] || continue
  name=$(basename "$f" .yaml)
  stacks+=("\"${name#Pulumi.}\"")
done
if [ ${#stacks[@]} -eq 0 ]; then
  echo "stack-matrix: no Pulumi.<stack>.yaml in $dir" >&2
  exit 2
fi
(IFS=,; echo "[${stacks[*]}]")
