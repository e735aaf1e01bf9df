#!/usr/bin/env bash
# Runs a node command as root inside a Debian root, the way Pulumi runs it on a node over SSH (the
# command text, e.g. `sudo -n bash -s`, with the script and its environment on stdin), as far as a
# machine without a booted init allows:
#   - the root is the cached debootstrap tree (scripts/node-root.sh) under an overlay whose upper
#     layer (STATE dir) keeps this node's changes between runs, so the cached tree is never touched;
#   - private mount and PID namespaces (unshare) inside the network namespace NETNS the test made
#     (`ip netns add`): /proc is the namespace's own, nftables rules load into that namespace's own
#     kernel tables and stay there between runs (as on a running node), nothing reaches the host's
#     network;
#   - systemctl is Debian's own, in systemd's offline mode (SYSTEMD_OFFLINE=1: no manager is
#     running): it edits unit links for enable/disable and ignores start/stop/restart/reload
#     ("Running in chroot, ignoring request"); /etc/sudoers.d/zz-auditflow-test keeps that switch
#     across `sudo` (which resets the environment);
#   - the only stub: systemd-run (it needs a running systemd to schedule anything). STATE/stubs has a
#     systemd-run that records its arguments in /var/log/auditflow-systemd-run.log inside the root.
#   - optional CMDLINE: a file bind-mounted over /proc/cmdline (the kernel the node booted with).
#   - NETNS "-" keeps the host's network namespace instead (the twin tier: a node script talking to
#     the cluster twin's API server on the host's loopback); nothing else about the network changes.
#
# Usage: run-in-node-root.sh ROOT STATE NETNS COMMAND [CMDLINE] < STDIN
set -euo pipefail
root=$1 state=$2 netns=$3 command=$4 cmdline=${5:-}
mkdir -p "$state/upper" "$state/work" "$state/merged"
export root state command cmdline netns
in_netns=(ip netns exec "$netns")
[ "$netns" = - ] && in_netns=()
# shellcheck disable=SC2016 # expanded by the inner shell
exec "${in_netns[@]}" unshare --mount --pid --fork --kill-child bash -c '
  set -euo pipefail
  mount --make-rprivate /
  mount -t overlay overlay -o "lowerdir=$root,upperdir=$state/upper,workdir=$state/work" "$state/merged"
  m=$state/merged
  mount -t proc proc "$m/proc"
  mount --rbind /dev "$m/dev"
  mount -t sysfs sysfs "$m/sys"
  mount -t tmpfs tmpfs "$m/run"
  mount -t tmpfs tmpfs "$m/tmp"
  if [ -n "$cmdline" ]; then mount --bind "$cmdline" "$m/proc/cmdline"; fi
  mkdir -p "$m/usr/local/sbin"
  cat >"$m/usr/local/sbin/systemd-run" <<"STUB"
#!/bin/sh
# Test stub (see run-in-node-root.sh): records the request; a chroot has no systemd to schedule it.
echo "systemd-run $*" >>/var/log/auditflow-systemd-run.log
STUB
  chmod 755 "$m/usr/local/sbin/systemd-run"
  # sudo resets the environment: let the offline switch through to the command it runs.
  echo "Defaults env_keep += \"SYSTEMD_OFFLINE\"" >"$m/etc/sudoers.d/zz-auditflow-test"
  chmod 440 "$m/etc/sudoers.d/zz-auditflow-test"
  [ "$netns" = - ] || ip link set lo up
  chroot "$m" /usr/bin/env -i SYSTEMD_OFFLINE=1 PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    HOME=/root bash -c "$command"
'
