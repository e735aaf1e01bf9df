#!/usr/bin/env bash
# Prepares and hardens one K3s node before K3s is installed. Runs as root over SSH (NodePrep).
# Idempotent: every step compares what is there with what should be there and changes only the
# difference; the last line says how many changes were made ("node-prep: no change" on a rerun).
#
# Environment:
#   PI_CGROUPS         required  "true" on a Raspberry Pi: memory cgroup kernel arguments in cmdline.txt
#   NFT_RULESET        required  the host firewall ruleset (table inet auditflow), rendered from firewall.ts
#   SSH_PORT           required  the SSH port to keep open and harden
#   JOURNAL_MAX_USE    required  journald SystemMaxUse, e.g. 500M
#   JOURNAL_MAX_FILE   required  journald SystemMaxFileSize, e.g. 50M
#   FAIL2BAN_MAXRETRY  required  failed SSH logins before a ban
#   FAIL2BAN_BANTIME   required  ban length, e.g. 1h
set -euo pipefail

: "${PI_CGROUPS:?}" "${NFT_RULESET:?}" "${SSH_PORT:?}" "${JOURNAL_MAX_USE:?}"
: "${JOURNAL_MAX_FILE:?}" "${FAIL2BAN_MAXRETRY:?}" "${FAIL2BAN_BANTIME:?}"

# note, changed and put_file come from node-lib.sh, sent ahead of this script.
# shellcheck disable=SC2034 # read by node-lib.sh
log_name=node-prep
changes=0

# Services are managed through systemctl; in a chroot it ignores start/restart (no init to ask).
service_restart() { systemctl restart "$1" || note "could not restart $1"; }
service_enable() {
  if [ "$(systemctl is-enabled "$1" 2>/dev/null || true)" != "enabled" ]; then
    systemctl enable "$1" >/dev/null 2>&1
    changed "enabled $1"
  fi
}

# --- packages the hardening needs -------------------------------------------------------------
missing=()
for pkg in nftables fail2ban python3-systemd unattended-upgrades; do
  # sed reads all of dpkg's output (grep -q would stop early, and pipefail would see dpkg's SIGPIPE).
  status=$(dpkg -s "$pkg" 2>/dev/null | sed -n 's/^Status: //p')
  [ "$status" = "install ok installed" ] || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  changed "installed ${missing[*]}"
fi

# --- Raspberry Pi: memory cgroups on the kernel command line -----------------------------------
reboot_needed=false
if [ "$PI_CGROUPS" = "true" ]; then
  cmdline_file=""
  for f in /boot/firmware/cmdline.txt /boot/cmdline.txt; do
    if [ -f "$f" ]; then
      cmdline_file=$f
      break
    fi
  done
  [ -n "$cmdline_file" ] || {
    echo "node-prep: PI_CGROUPS is true but there is no /boot/firmware/cmdline.txt or /boot/cmdline.txt" >&2
    exit 1
  }
  line=$(head -n1 "$cmdline_file")
  wanted=$line
  for arg in cgroup_memory=1 cgroup_enable=memory; do
    case " $wanted " in *" $arg "*) ;; *) wanted="$wanted $arg" ;; esac
  done
  if [ "$wanted" != "$line" ]; then
    put_file "$cmdline_file" "$(stat -c %a "$cmdline_file")" "$wanted" || true
  fi
  for arg in cgroup_memory=1 cgroup_enable=memory; do
    grep -qw -- "$arg" /proc/cmdline || reboot_needed=true
  done
fi

# --- swap off (kubelet requirement) -------------------------------------------------------------
if [ -n "$(swapon --show --noheadings 2>/dev/null || true)" ]; then
  swapoff -a
  changed "swap turned off"
fi
if awk '$1 !~ /^#/ && $3 == "swap" { found = 1 } END { exit !found }' /etc/fstab 2>/dev/null; then
  sed -i -E 's|^([^#][^[:space:]]*[[:space:]]+[^[:space:]]+[[:space:]]+swap[[:space:]].*)$|# auditflow: swap off for kubelet: \1|' /etc/fstab
  changed "/etc/fstab swap entries commented out"
fi
if [ -f /etc/dphys-swapfile ] && ! grep -qx 'CONF_SWAPSIZE=0' /etc/dphys-swapfile; then
  sed -i -E '/^#?CONF_SWAPSIZE=/d' /etc/dphys-swapfile
  echo 'CONF_SWAPSIZE=0' >>/etc/dphys-swapfile
  changed "/etc/dphys-swapfile CONF_SWAPSIZE=0"
fi
if [ -f /etc/dphys-swapfile ] && [ "$(systemctl is-enabled dphys-swapfile 2>/dev/null || true)" = "enabled" ]; then
  systemctl disable dphys-swapfile >/dev/null 2>&1
  changed "disabled dphys-swapfile"
fi

# --- SSH: keys only, no root ---------------------------------------------------------------------
mkdir -p /run/sshd
if put_file /etc/ssh/sshd_config.d/10-auditflow.conf 644 "# Managed by AuditFlow NodePrep.
Port $SSH_PORT
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin no
PubkeyAuthentication yes
PermitEmptyPasswords no
X11Forwarding no
AllowAgentForwarding no
MaxAuthTries 3
LoginGraceTime 30
ClientAliveInterval 300
ClientAliveCountMax 2"; then
  sshd -t || {
    echo "node-prep: sshd rejects the hardened configuration; removed it" >&2
    rm -f /etc/ssh/sshd_config.d/10-auditflow.conf
    exit 1
  }
  systemctl reload ssh || note "could not reload ssh"
fi
# The drop-in must win: sshd takes the first value it reads, and Debian includes sshd_config.d first.
effective=$(sshd -T 2>/dev/null | grep -Ei '^(passwordauthentication|permitrootlogin) ' | sort | tr '\n' ' ')
[ "$effective" = "passwordauthentication no permitrootlogin no " ] || {
  echo "node-prep: sshd's effective settings are '$effective'; an earlier setting overrides the hardening" >&2
  exit 1
}

# --- host firewall (nftables, default deny on input) --------------------------------------------
# /etc/nftables.conf only includes our table: Debian's default file starts with "flush ruleset",
# which on a restart of nftables.service would also wipe the rules K3s programs.
put_file /etc/nftables.conf 755 '#!/usr/sbin/nft -f
# Managed by AuditFlow NodePrep: loads the host firewall only (never "flush ruleset": K3s owns
# its own tables).
include "/etc/nftables.d/*.nft"' || true
nft -c -f - <<<"$NFT_RULESET" || {
  echo "node-prep: nft rejects the firewall ruleset" >&2
  exit 1
}
ruleset_changed=false
put_file /etc/nftables.d/auditflow.nft 600 "$NFT_RULESET" && ruleset_changed=true
if $ruleset_changed || ! nft list table inet auditflow >/dev/null 2>&1; then
  nft -f /etc/nftables.d/auditflow.nft
  $ruleset_changed || changed "loaded table inet auditflow"
fi
service_enable nftables

# --- fail2ban for SSH -----------------------------------------------------------------------------
if put_file /etc/fail2ban/jail.d/auditflow-sshd.local 644 "# Managed by AuditFlow NodePrep.
[sshd]
enabled = true
port = $SSH_PORT
backend = systemd
banaction = nftables-multiport
maxretry = $FAIL2BAN_MAXRETRY
findtime = 10m
bantime = $FAIL2BAN_BANTIME"; then
  fail2ban-client -t >/dev/null || {
    echo "node-prep: fail2ban rejects the jail configuration" >&2
    exit 1
  }
  service_restart fail2ban
fi
service_enable fail2ban

# --- unattended security upgrades (no automatic reboot: a node restarts only when drained) -----
put_file /etc/apt/apt.conf.d/20auto-upgrades 644 'APT::Periodic::Update-Package-Lists "1";
APT::Periodic::Unattended-Upgrade "1";' || true
# shellcheck disable=SC2016 # ${distro_codename} is for unattended-upgrades to expand
put_file /etc/apt/apt.conf.d/52auditflow-unattended-upgrades 644 '// Managed by AuditFlow NodePrep.
Unattended-Upgrade::Origins-Pattern {
        "origin=Debian,codename=${distro_codename}-security,label=Debian-Security";
        "origin=Debian,codename=${distro_codename},label=Debian-Security";
};
Unattended-Upgrade::Automatic-Reboot "false";
Unattended-Upgrade::Remove-Unused-Dependencies "true";' || true
service_enable unattended-upgrades

# --- journald size limits ---------------------------------------------------------------------------
if put_file /etc/systemd/journald.conf.d/10-auditflow.conf 644 "# Managed by AuditFlow NodePrep.
[Journal]
SystemMaxUse=$JOURNAL_MAX_USE
SystemMaxFileSize=$JOURNAL_MAX_FILE
RuntimeMaxUse=$JOURNAL_MAX_FILE"; then
  service_restart systemd-journald
fi

# --- reboot for the kernel arguments -----------------------------------------------------------------
if $reboot_needed; then
  # Scheduled a few seconds out so this command returns first; Pulumi waits for the node to come
  # back (node-await-boot.sh) before installing K3s.
  systemd-run --on-active=10s --unit=auditflow-reboot --description="AuditFlow: reboot for memory cgroups" \
    systemctl reboot >/dev/null
  note "reboot scheduled: the kernel runs without cgroup_memory=1 cgroup_enable=memory"
fi

if [ "$changes" -eq 0 ]; then
  note "no change"
else
  note "$changes change(s)"
fi
