#!/usr/bin/env bash
# Opens an issue for a stack whose infrastructure drifted from the program, or comments on the open
# one, so drift is tracked in one issue per stack until someone closes it.
# Usage: drift-issue.sh <stack> <preview-output-file>
# Environment: GH_TOKEN (issues: write), GITHUB_REPOSITORY, RUN_URL (link to the workflow run).
set -euo pipefail
stack="${1:?usage: drift-issue.sh <stack> <preview-output-file>}"
file="${2:?usage: drift-issue.sh <stack> <preview-output-file>}"
: "${GITHUB_REPOSITORY:?}" "${RUN_URL:?}"
title="Drift detected in stack $stack"
body=$(mktemp)
{
  echo "\`pulumi preview --expect-no-changes\` found changes in stack \`$stack\` ($RUN_URL)."
  echo
  echo '```'
  tail -c 60000 "$file"
  echo '```'
} >"$body"
number=$(gh issue list --repo "$GITHUB_REPOSITORY" --state open --label drift \
  --search "\"$title\" in:title" --json number,title \
  --jq ".[] | select(.title == \"$title\") | .number" | head -n 1)
if [ -n "$number" ]; then
  gh issue comment "$number" --repo "$GITHUB_REPOSITORY" --body-file "$body"
  echo "drift-issue: commented on #$number"
else
  gh issue create --repo "$GITHUB_REPOSITORY" --title "$title" --label drift --body-file "$body"
fi
