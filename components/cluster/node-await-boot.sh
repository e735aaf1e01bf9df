#!/usr/bin/env bash
# Succeeds once the node runs with the kernel arguments it was prepared for (after the reboot
# node-prep.sh scheduled). Pulumi's SSH connection retries while the node is down. Runs over SSH.
#
# Environment:
#   REQUIRED_KERNEL_ARGS optional  space-separated arguments /proc/cmdline must hold; may be empty
set -euo pipefail
REQUIRED_KERNEL_ARGS=${REQUIRED_KERNEL_ARGS:-}
for arg in $REQUIRED_KERNEL_ARGS; do
  grep -qw -- "$arg" /proc/cmdline || {
    echo "node-await-boot: the running kernel lacks $arg (has the node rebooted?)" >&2
    exit 1
  }
done
echo "node-await-boot: kernel arguments in effect (${REQUIRED_KERNEL_ARGS:-none required})"
