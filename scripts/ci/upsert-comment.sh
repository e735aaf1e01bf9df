#!/usr/bin/env bash
# Posts a file as the pull request's comment for one stack, or updates that comment when it exists,
# so each stack has exactly one comment that always shows the latest report.
# Usage: upsert-comment.sh <stack> <markdown-file>
# Environment: GH_TOKEN (pull-requests: write), GITHUB_REPOSITORY, PR_NUMBER. Uses the gh CLI.
set -euo pipefail
stack="${1:?usage: upsert-comment.sh <stack> <markdown-file>}"
file="${2:?usage: upsert-comment.sh <stack> <markdown-file>}"
: "${GITHUB_REPOSITORY:?}" "${PR_NUMBER:?}"
marker="<!-- auditflow-policy-report:$stack -->"
grep -qF -- "$marker" "$file" || { echo "upsert-comment: $file lacks the marker $marker" >&2; exit 2; }
id=$(gh api --paginate "repos/$GITHUB_REPOSITORY/issues/$PR_NUMBER/comments" \
  --jq ".[] | select(.body | contains(\"$marker\")) | .id" | head -n 1)
if [ -n "$id" ]; then
  gh api --method PATCH "repos/$GITHUB_REPOSITORY/issues/comments/$id" -F "body=@$file" >/dev/null
  echo "upsert-comment: updated comment $id for stack $stack"
else
  gh api --method POST "repos/$GITHUB_REPOSITORY/issues/$PR_NUMBER/comments" -F "body=@$file" >/dev/null
  echo "upsert-comment: posted the comment for stack $stack"
fi
