#!/usr/bin/env bash
# Runs where `pulumi up` runs: when node-prep.sh scheduled a reboot, waits for the node to go down
# before Pulumi reconnects (the reconnection then retries until it is back up).
#
# Environment:
#   PREP_OUTPUT        optional  the output of node-prep.sh on the node
#   PAUSE_SECONDS      required  how long the node takes to go down, e.g. 30
set -euo pipefail
: "${PAUSE_SECONDS:?}"
case "${PREP_OUTPUT:-}" in
*"reboot scheduled"*)
  echo "node-reboot-pause: waiting ${PAUSE_SECONDS}s for the node to go down"
  sleep "$PAUSE_SECONDS"
  ;;
*) echo "node-reboot-pause: no reboot scheduled" ;;
esac
