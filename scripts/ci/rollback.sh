#!/usr/bin/env bash
# The deploy workflow's rollback path. After every successful `pulumi up` it records the commit in
# the stack (a stack tag); when an `up` fails it re-applies the last recorded commit's program, with
# that commit's images and the stack's policy pack, so the stack returns to what last worked.
#   rollback.sh record <stack>    tag the stack with GITHUB_SHA as its last good commit
#   rollback.sh restore <stack>   pulumi up the last good commit (fails when none is recorded)
# Environment: the Pulumi backend's credentials and the stack's secrets provider, as for `pulumi up`;
# GITHUB_SHA for record.
set -euo pipefail
verb="${1:?usage: rollback.sh record|restore <stack>}"
stack="${2:?usage: rollback.sh record|restore <stack>}"
tag="auditflow:last-good-commit"
root="$(cd "$(dirname "$0")/../.." && pwd)"
case "$verb" in
  record)
    : "${GITHUB_SHA:?}"
    pulumi stack tag set "$tag" "$GITHUB_SHA" --stack "$stack"
    echo "rollback: stack $stack records $GITHUB_SHA as its last good commit"
    ;;
  restore)
    good=$(pulumi stack tag get "$tag" --stack "$stack" 2>/dev/null || true)
    if [ -z "$good" ]; then
      echo "rollback: stack $stack has no recorded good commit; nothing to roll back to" >&2
      exit 1
    fi
    dir=$(mktemp -d)
    git -C "$root" worktree add --detach "$dir/src" "$good"
    trap 'git -C "$root" worktree remove --force "$dir/src"' EXIT
    cd "$dir/src"
    npm ci --no-audit --no-fund
    pack_config="policy/config/$stack.json"
    [ -f "$pack_config" ] || pack_config="policy/config/prod.json"
    echo "rollback: re-applying $good to stack $stack"
    AUDITFLOW_GIT_SHA="$good" pulumi up --yes --stack "$stack" \
      --policy-pack policy --policy-pack-config "$pack_config"
    ;;
  *)
    echo "rollback: unknown verb '$verb' (allowed: record, restore)" >&2
    exit 2
    ;;
esac
