#!/usr/bin/env bash
# Before K3s on a node is upgraded or reconfigured: cordon and drain it, from a server (the node
# being changed may be an agent, which holds no admin credentials). Eviction goes through the API,
# so PodDisruptionBudgets are honoured: a drain that would break one waits, and fails after
# DRAIN_TIMEOUT rather than forcing. Runs as root over SSH (K3sCluster).
#
# Nothing to do (and says so) when K3s is not installed yet, the node has not registered, it is
# the cluster's only node, or it already runs K3S_VERSION with CONFIG_DIGEST.
#
# Environment:
#   NODE_NAME          required  the node to drain
#   K3S_VERSION        required  the release it is about to run
#   CONFIG_DIGEST      required  digest of the configuration it is about to run
#   DRAIN_TIMEOUT      required  seconds to wait for evictions, e.g. 600
set -euo pipefail
: "${NODE_NAME:?}" "${K3S_VERSION:?}" "${CONFIG_DIGEST:?}" "${DRAIN_TIMEOUT:?}"
note() { echo "k3s-drain: $*"; }

if [ ! -x /usr/local/bin/k3s ] || [ ! -f /etc/rancher/k3s/k3s.yaml ]; then
  note "no change (K3s is not installed here yet: nothing to drain)"
  exit 0
fi
kubectl() { /usr/local/bin/k3s kubectl --kubeconfig /etc/rancher/k3s/k3s.yaml "$@"; }

if ! kubectl get node "$NODE_NAME" >/dev/null 2>&1; then
  note "no change ($NODE_NAME has not joined yet: nothing to drain)"
  exit 0
fi
state=$(kubectl get node "$NODE_NAME" \
  -o jsonpath='{.status.nodeInfo.kubeletVersion} {.metadata.annotations.auditflow\.dev/k3s-config}')
if [ "$state" = "$K3S_VERSION $CONFIG_DIGEST" ]; then
  note "no change ($NODE_NAME already runs $K3S_VERSION with this configuration)"
  exit 0
fi
if [ "$(kubectl get nodes --no-headers | wc -l)" -le 1 ]; then
  note "$NODE_NAME is the only node: not draining (its pods restart with K3s)"
  exit 0
fi
note "cordoning and draining $NODE_NAME ($state -> $K3S_VERSION $CONFIG_DIGEST)"
kubectl cordon "$NODE_NAME"
kubectl drain "$NODE_NAME" --ignore-daemonsets --delete-emptydir-data --timeout="${DRAIN_TIMEOUT}s"
note "$NODE_NAME drained"
