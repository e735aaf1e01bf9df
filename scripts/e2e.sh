#!/usr/bin/env bash
# The e2e tier: the real Pulumi engine (`pulumi preview --policy-pack`, `pulumi up`) against the
# cluster twin. It needs the Pulumi CLI with its Node.js language host and the kubernetes, random,
# command and docker plugins, and the twin (`npm run twin`). Where either is missing it says so in
# one line and exits 3: the tier did not run, which is neither a pass nor a failure of the code.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v pulumi >/dev/null 2>&1; then
  echo "e2e: not run: the Pulumi CLI is not installed on this machine (the tier runs in the hosted workflow)"
  exit 3
fi
if [ -z "${AUDITFLOW_TWIN_KUBECONFIG:-}" ]; then
  echo "e2e: not run: no cluster twin given (start one with npm run twin and set AUDITFLOW_TWIN_KUBECONFIG to its kubeconfig)"
  exit 3
fi
exec bash scripts/with-node.sh jest --selectProjects e2e --runInBand
