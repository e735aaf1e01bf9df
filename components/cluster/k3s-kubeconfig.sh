#!/usr/bin/env bash
# Prints the admin kubeconfig of this server, renewing its client certificate first when it expires
# within RENEW_DAYS (K3s issues it for a year). Runs as root over SSH (K3sCluster); Pulumi re-reads
# it at least every REFRESH_DAYS, so a stack that is deployed regularly never holds an expired one.
#
# Environment:
#   RENEW_DAYS         required  renew when the certificate expires within this many days, e.g. 60
set -euo pipefail
: "${RENEW_DAYS:?}"
kubeconfig=/etc/rancher/k3s/k3s.yaml

# checkend: 0 when the client certificate in the kubeconfig outlives RENEW_DAYS.
outlives() {
  awk '$1 == "client-certificate-data:" { print $2 }' "$kubeconfig" | base64 -d |
    openssl x509 -noout -checkend $((RENEW_DAYS * 86400)) >/dev/null
}

if ! outlives; then
  echo "k3s-kubeconfig: client certificate expires within ${RENEW_DAYS} days: rotating" >&2
  before=$(sha256sum "$kubeconfig")
  systemctl stop k3s
  /usr/local/bin/k3s certificate rotate >&2
  systemctl start k3s
  for _ in $(seq 1 60); do
    [ "$(sha256sum "$kubeconfig")" != "$before" ] && outlives && break
    sleep 5
  done
  outlives || {
    echo "k3s-kubeconfig: the kubeconfig's certificate still expires within ${RENEW_DAYS} days after the rotation" >&2
    exit 1
  }
fi
cat "$kubeconfig"
