#!/usr/bin/env bash
# Installs or upgrades K3s on this node in place. Runs as root over SSH (K3sCluster), on create and
# on every update (a new version or configuration); never uninstalls.
#
# The upstream installer is fetched from a pinned URL and runs only when its SHA-256 matches; it then
# downloads the K3s binary and checks it against the release's own checksum file. The node's K3s
# configuration is a file (/etc/rancher/k3s/config.yaml, mode 0600: it holds the join token and the
# etcd snapshot store's key), so no secret is ever on a command line.
#
# Air-gapped mode (AIRGAP_BINARY set): nothing is downloaded. K3sCluster has copied the K3s binary,
# the airgap images tarball and the installer script to the node (CopyToRemote); each is copied to a
# root-only directory and checked against its SHA-256 before anything on the node changes, then the
# binary goes to /usr/local/bin/k3s, the images to /var/lib/rancher/k3s/agent/images/ and the
# installer runs with INSTALL_K3S_SKIP_DOWNLOAD=true. A file already in its place with the right
# digest is kept (so a rerun needs no copy and changes nothing); the staged copies are removed once
# placed.
#
# Idempotent: with the version installed and every file unchanged it does nothing and says
# "k3s-install: no change".
#
# Environment:
#   K3S_VERSION        required  release to run, e.g. v1.31.6+k3s1
#   K3S_ROLE           required  server | agent
#   K3S_CONFIG         required  the node's config.yaml
#   INSTALLER_URL      required  where the installer script is fetched from
#   INSTALLER_SHA256   optional  its expected SHA-256 (the install refuses to run without it)
#   AUDIT_POLICY       optional  servers: the API server's audit policy (YAML); empty on agents
#   KUBE_VIP_MANIFEST  optional  servers: kube-vip's manifest for K3s' auto-deploy directory; may be empty
#   ETCD_S3_CA         optional  servers: PEM bundle of the snapshot store's CA; may be empty
#   AIRGAP_BINARY      optional  air-gapped: where the K3s binary was copied on this node
#   K3S_BINARY_SHA256  optional  air-gapped: its SHA-256
#   AIRGAP_IMAGES      optional  air-gapped: where the images tarball was copied on this node
#   AIRGAP_IMAGES_NAME optional  air-gapped: its file name in /var/lib/rancher/k3s/agent/images/
#   AIRGAP_IMAGES_SHA256 optional air-gapped: its SHA-256
#   AIRGAP_INSTALLER   optional  air-gapped: where the installer script was copied (INSTALLER_URL unused)
set -euo pipefail

: "${K3S_VERSION:?}" "${K3S_ROLE:?}" "${K3S_CONFIG:?}" "${INSTALLER_URL:?}"
INSTALLER_SHA256=${INSTALLER_SHA256:-}
AUDIT_POLICY=${AUDIT_POLICY:-}
KUBE_VIP_MANIFEST=${KUBE_VIP_MANIFEST:-}
ETCD_S3_CA=${ETCD_S3_CA:-}
AIRGAP_BINARY=${AIRGAP_BINARY:-}
case "$K3S_ROLE" in server | agent) ;; *)
  echo "k3s-install: K3S_ROLE must be server or agent, not '$K3S_ROLE'" >&2
  exit 2
  ;;
esac

# note, changed and put_file come from node-lib.sh, sent ahead of this script.
# shellcheck disable=SC2034 # read by node-lib.sh
log_name=k3s-install
changes=0
remove_file() {
  if [ -e "$1" ]; then
    rm -f "$1"
    changed "removed $1"
  fi
}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
sha_of() { sha256sum "$1" | cut -d' ' -f1; }
# verified NAME COPIED FINAL SHA: prints a root-only path holding NAME with that SHA-256: FINAL when
# it already has it, else a copy of COPIED that does; exits when neither does.
verified() {
  local name=$1 copied=$2 final=$3 sha=$4 got
  [[ "$sha" =~ ^[0-9a-f]{64}$ ]] || {
    echo "k3s-install: no SHA-256 for the $name (cluster.airgap); refusing to use an unverified file" >&2
    exit 2
  }
  if [ -f "$final" ] && [ "$(sha_of "$final")" = "$sha" ]; then
    echo "$final"
    return
  fi
  [ -f "$copied" ] || {
    echo "k3s-install: air-gapped: the $name was not copied to $copied" >&2
    exit 1
  }
  cp "$copied" "$work/$name"
  got=$(sha_of "$work/$name")
  if [ "$got" != "$sha" ]; then
    echo "k3s-install: the $name at $copied has SHA-256 $got, expected $sha; nothing changed" >&2
    exit 1
  fi
  echo "$work/$name"
}
if [ -n "$AIRGAP_BINARY" ]; then
  # All three are checked before anything on the node changes.
  bin_src=$(verified binary "$AIRGAP_BINARY" /usr/local/bin/k3s "${K3S_BINARY_SHA256:-}")
  img_final=/var/lib/rancher/k3s/agent/images/${AIRGAP_IMAGES_NAME:?}
  img_src=$(verified images "${AIRGAP_IMAGES:?}" "$img_final" "${AIRGAP_IMAGES_SHA256:-}")
  inst_final=/var/lib/rancher/k3s/auditflow-installer.sh
  inst_src=$(verified installer "${AIRGAP_INSTALLER:?}" "$inst_final" "$INSTALLER_SHA256")
fi
installed=""
if [ -x /usr/local/bin/k3s ]; then
  installed=$(/usr/local/bin/k3s --version 2>/dev/null | awk 'NR == 1 { print $3 }')
fi
# place SRC FINAL MODE: moves a verified file into place (a no-op when it is already there).
place() {
  [ "$1" = "$2" ] && return 0
  mkdir -p "$(dirname "$2")"
  install -m "$3" "$1" "$2.auditflow-new"
  mv -f "$2.auditflow-new" "$2"
  changed "$2"
}
if [ -n "$AIRGAP_BINARY" ]; then
  place "$bin_src" /usr/local/bin/k3s 755
  place "$img_src" "$img_final" 644
  place "$inst_src" "$inst_final" 700
  # The staged copies are not needed again (a rerun finds the placed files): free the space on a
  # small disk (a binary and an images tarball are a few hundred MB).
  rm -f "$AIRGAP_BINARY" "$AIRGAP_IMAGES" "$AIRGAP_INSTALLER"
fi

put_file /etc/rancher/k3s/config.yaml 600 "$K3S_CONFIG" || true
if [ "$K3S_ROLE" = server ]; then
  [ -n "$AUDIT_POLICY" ] || {
    echo "k3s-install: AUDIT_POLICY is required on a server" >&2
    exit 2
  }
  put_file /etc/rancher/k3s/audit-policy.yaml 600 "$AUDIT_POLICY" || true
  mkdir -p /var/lib/rancher/k3s/server/logs && chmod 700 /var/lib/rancher/k3s/server/logs
  if [ -n "$KUBE_VIP_MANIFEST" ]; then
    put_file /var/lib/rancher/k3s/server/manifests/kube-vip.yaml 600 "$KUBE_VIP_MANIFEST" || true
  else
    remove_file /var/lib/rancher/k3s/server/manifests/kube-vip.yaml
  fi
  if [ -n "$ETCD_S3_CA" ]; then
    put_file /etc/rancher/k3s/etcd-s3-ca.pem 644 "$ETCD_S3_CA" || true
  fi
fi

service=k3s
[ "$K3S_ROLE" = agent ] && service=k3s-agent
if [ "$installed" = "$K3S_VERSION" ] && [ -f "/etc/systemd/system/$service.service" ] && [ "$changes" -eq 0 ]; then
  note "no change ($K3S_VERSION installed, configuration unchanged)"
  exit 0
fi

skip_download=false
if [ -n "$AIRGAP_BINARY" ]; then
  cp "$inst_final" "$work/install.sh"
  got=$INSTALLER_SHA256
  skip_download=true
else
  [[ "$INSTALLER_SHA256" =~ ^[0-9a-f]{64}$ ]] || {
    echo "k3s-install: no SHA-256 for the installer: set cluster.installScriptSha256 (see README, 'Installing K3s'); refusing to run an unverified script" >&2
    exit 2
  }
  curl -fsSL --proto '=https,http' --retry 3 -o "$work/install.sh" "$INSTALLER_URL" || {
    echo "k3s-install: could not fetch the installer from $INSTALLER_URL" >&2
    exit 1
  }
  got=$(sha_of "$work/install.sh")
  if [ "$got" != "$INSTALLER_SHA256" ]; then
    echo "k3s-install: installer from $INSTALLER_URL has SHA-256 $got, expected $INSTALLER_SHA256; not running it" >&2
    exit 1
  fi
fi
note "installer verified (sha256 $got)"

if [ -n "$installed" ] && [ "$installed" != "$K3S_VERSION" ]; then
  note "upgrading $installed -> $K3S_VERSION"
else
  note "installing $K3S_VERSION ($K3S_ROLE)"
fi
# INSTALL_K3S_FORCE_RESTART: the installer only restarts when its own files change; a changed
# config.yaml must restart K3s too. The installer copies every K3S_* variable into the service's
# environment file (and K3s reads K3S_* variables as flags), so this script's own K3S_* contract
# variables (the config with its secrets among them) are removed from its environment.
env -u K3S_VERSION -u K3S_ROLE -u K3S_CONFIG -u K3S_BINARY_SHA256 \
  INSTALL_K3S_SKIP_DOWNLOAD="$skip_download" \
  INSTALL_K3S_VERSION="$K3S_VERSION" INSTALL_K3S_EXEC="$K3S_ROLE" INSTALL_K3S_FORCE_RESTART=true \
  sh "$work/install.sh"
note "$K3S_ROLE $K3S_VERSION running"
