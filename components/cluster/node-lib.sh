# shellcheck shell=bash
# Shared by the node scripts that change files (node-prep.sh, k3s-install.sh): K3sCluster sends it on
# stdin ahead of the script, so the script finds these functions defined. The script sets `log_name`
# (the prefix of its messages) and `changes=0` first.
: "${log_name:=node}"

note() { echo "$log_name: $*"; }
changed() {
  changes=$((changes + 1))
  note "changed: $*"
}

# put_file PATH MODE CONTENT: writes CONTENT (plus a final newline) only when it differs, through a
# temporary file that has MODE before any content is in it; returns 0 when the file changed, 1 when
# it was already right.
put_file() {
  local path=$1 mode=$2 content=$3 tmp
  if [ -f "$path" ] && [ "$(stat -c %a "$path")" = "$mode" ] &&
    printf '%s\n' "$content" | cmp -s - "$path"; then
    return 1
  fi
  mkdir -p "$(dirname "$path")"
  tmp=$(mktemp "$path.XXXXXX")
  chmod "$mode" "$tmp"
  printf '%s\n' "$content" >"$tmp"
  mv -f "$tmp" "$path"
  changed "$path"
  return 0
}
