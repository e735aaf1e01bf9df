#!/usr/bin/env bash
# After K3s on a node was installed, upgraded or reconfigured: wait until the node reports Ready on
# K3S_VERSION, record the configuration it runs (annotation auditflow.dev/k3s-config), and uncordon
# it. Runs as root over SSH on a server (K3sCluster); the next node is touched only after this.
#
# Environment:
#   NODE_NAME          required  the node
#   K3S_VERSION        required  the release it must report
#   CONFIG_DIGEST      required  digest of its configuration
#   READY_TIMEOUT      required  seconds to wait, e.g. 600
set -euo pipefail
: "${NODE_NAME:?}" "${K3S_VERSION:?}" "${CONFIG_DIGEST:?}" "${READY_TIMEOUT:?}"
note() { echo "k3s-ready: $*"; }
kubectl() { /usr/local/bin/k3s kubectl --kubeconfig /etc/rancher/k3s/k3s.yaml "$@"; }

deadline=$(($(date +%s) + READY_TIMEOUT))
want="$K3S_VERSION True"
got=""
while :; do
  # The API may be restarting (this server was just upgraded): errors mean "not yet".
  got=$(kubectl get node "$NODE_NAME" \
    -o jsonpath='{.status.nodeInfo.kubeletVersion} {.status.conditions[?(@.type=="Ready")].status}' \
    2>/dev/null || true)
  [ "$got" = "$want" ] && break
  if [ "$(date +%s)" -ge "$deadline" ]; then
    echo "k3s-ready: $NODE_NAME is '${got:-unreachable}' after ${READY_TIMEOUT}s, expected '$want'; left cordoned" >&2
    exit 1
  fi
  sleep 5
done
kubectl annotate node "$NODE_NAME" --overwrite "auditflow.dev/k3s-config=$CONFIG_DIGEST" >/dev/null
if [ "$(kubectl get node "$NODE_NAME" -o jsonpath='{.spec.unschedulable}')" = "true" ]; then
  kubectl uncordon "$NODE_NAME" >/dev/null
  note "$NODE_NAME Ready on $K3S_VERSION, uncordoned"
else
  note "no change ($NODE_NAME Ready on $K3S_VERSION, schedulable)"
fi
