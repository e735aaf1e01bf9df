#!/bin/sh
# Verification of the newest backup (run by auditflow:data:PostgresBackup's verify CronJob).
# Its files must match the manifest's checksums; each dump is decrypted with the identity in
# AGE_IDENTITY_FILE, restored into a scratch database and its row counts compared with the
# manifest. With OFFSITE_URL set, the backup's off-site copy is downloaded and checked against the
# local manifest too. Any difference fails the run with a message saying what differs.
#
# Every outcome, success or failure, is recorded as the one row of auditflow_backup.verification
# in the database postgres, readable by MONITORING_ROLE: the Postgres component's exporter sidecar
# publishes it as auditflow_backup_verify_success and auditflow_backup_verify_timestamp_seconds
# (exporterQueries in postgres-config.ts, which names the same table). If PostgreSQL cannot be
# reached to record a failure, the run still fails with its own message and the timestamp goes
# stale.
#
# Environment:
#   PGHOST                     required  the server's host (read by psql)
#   PGPORT                     required  the server's port
#   PGUSER                     required  a role that can create databases
#   PGPASSWORD                 required  its password
#   BACKUP_DIR                 required  the backup volume backup.sh writes
#   OFFSITE_URL                optional  <endpoint>/<bucket>/<prefix> of the off-site store; not checked without it
#   OFFSITE_REGION             optional  SigV4 signing region (us-east-1 when unset)
#   OFFSITE_ACCESS_KEY_ID      optional  the store's access key ID (needed with OFFSITE_URL)
#   OFFSITE_SECRET_ACCESS_KEY  optional  the store's secret key (needed with OFFSITE_URL)
#   OFFSITE_CA_FILE            optional  PEM bundle to trust for the store
#   AGE_IDENTITY_FILE          required  the age identity that can decrypt the backups
#   MONITORING_ROLE            required  the role the metrics exporter reads the outcome as
set -eu
# shellcheck source=s3.sh
. "$(dirname "$0")/s3.sh"
: "${BACKUP_DIR:?}" "${AGE_IDENTITY_FILE:?the age identity that can decrypt the backups}"
: "${MONITORING_ROLE:?the role the metrics exporter reads the outcome as}"
newest=""
recorded=""
record() {
  psql -X -q -v ON_ERROR_STOP=1 -d postgres -v success="$1" -v message="$2" -v backup="$newest" \
    -v monitor="$MONITORING_ROLE" >/dev/null <<'SQL'
begin;
set local client_min_messages = warning;
create schema if not exists auditflow_backup;
create table if not exists auditflow_backup.verification (
  singleton boolean primary key default true check (singleton),
  success boolean not null,
  finished_at timestamptz not null,
  backup text,
  message text not null
);
grant usage on schema auditflow_backup to :"monitor";
grant select on auditflow_backup.verification to :"monitor";
insert into auditflow_backup.verification (success, finished_at, backup, message)
values (:'success', now(), nullif(:'backup', ''), :'message')
on conflict (singleton) do update set success = excluded.success,
  finished_at = excluded.finished_at, backup = excluded.backup, message = excluded.message;
commit;
SQL
}
fail() {
  echo "backup verification FAILED: $*" >&2
  recorded=1
  # Recording must not mask the failure: if PostgreSQL is unreachable as well, the job still fails
  # with the message above, and the recorded outcome goes stale (an alert on its age catches that).
  if ! err=$(record false "$*" 2>&1); then
    echo "the outcome could not be recorded in PostgreSQL: $err" >&2
  fi
  exit 1
}
# Any other exit on an error (a command failing under set -e) is recorded as a failure as well.
trap '[ $? -eq 0 ] || [ -n "$recorded" ] || fail "stopped by an unexpected error (the job log has it)"' EXIT
# Only names that match the stamp pattern exactly are considered, so ls | grep cannot be misled.
# shellcheck disable=SC2010
newest=$(ls -1 "$BACKUP_DIR" | grep -E '^[0-9]{8}T[0-9]{6}Z$' | sort -r | head -n 1 || true)
[ -n "$newest" ] || fail "no backup found in $BACKUP_DIR"
dir="$BACKUP_DIR/$newest"
[ -f "$dir/files.sha256" ] || fail "$newest has no checksum manifest"
( cd "$dir" && sha256sum -c files.sha256 ) >/dev/null 2>&1 || fail "$newest: a file does not match its checksum in files.sha256 (tampered or truncated)"
# backup.info is written by backup.sh and sets databases.
# shellcheck source=/dev/null
. "$dir/backup.info" 2>/dev/null || fail "$newest has no backup.info"
# shellcheck disable=SC2154
for db in $databases; do
  scratch="verify_${db}_$$"
  err=$(psql -X -v ON_ERROR_STOP=1 -d postgres -qc "drop database if exists $scratch" -c "create database $scratch" 2>&1 >/dev/null) ||
    fail "$newest: cannot create the scratch database $scratch: $err"
  if ! age -d -i "$AGE_IDENTITY_FILE" "$dir/$db.dump.age" > "$dir.$db.restore.tmp" 2>"$dir.$db.err"; then
    rm -f "$dir.$db.restore.tmp"
    psql -X -d postgres -qc "drop database if exists $scratch" >/dev/null 2>&1 || true
    fail "$newest/$db.dump.age cannot be decrypted with $AGE_IDENTITY_FILE: $(cat "$dir.$db.err")"
  fi
  if ! pg_restore --no-owner --exit-on-error -d "$scratch" "$dir.$db.restore.tmp" 2>"$dir.$db.err"; then
    rm -f "$dir.$db.restore.tmp"
    psql -X -d postgres -qc "drop database if exists $scratch" >/dev/null 2>&1 || true
    fail "$newest/$db does not restore: $(head -c 500 "$dir.$db.err")"
  fi
  rm -f "$dir.$db.restore.tmp" "$dir.$db.err"
  grep "^$db\." "$dir/rows.txt" | sed "s/^$db\.//" | while read -r table expected; do
    actual=$(psql -X -v ON_ERROR_STOP=1 -d "$scratch" -tAc "select count(*) from $table")
    [ "$actual" = "$expected" ] || { echo "$db.$table has $actual rows, the manifest says $expected" > "$dir.mismatch"; break; }
  done
  psql -X -d postgres -qc "drop database if exists $scratch" >/dev/null
  if [ -f "$dir.mismatch" ]; then msg=$(cat "$dir.mismatch"); rm -f "$dir.mismatch"; fail "$newest: $msg"; fi
done
# SHA-256 of the empty body: the signed payload hash of a GET.
empty_sha256=e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
checked="every database restores with the recorded row counts"
if [ -n "${OFFSITE_URL:-}" ]; then
  # The off-site copy of the same backup must be complete and byte-identical.
  remote="$BACKUP_DIR/.offsite-verify-$$"
  rm -rf "$remote" && mkdir -p "$remote"
  for f in files.sha256 $(awk '{ print $2 }' "$dir/files.sha256"); do
    if ! s3 "$remote/$f" -H "x-amz-content-sha256: $empty_sha256" "$OFFSITE_URL/$newest/$f"; then
      rm -rf "$remote"
      fail "$newest: the off-site copy of $f cannot be read from $OFFSITE_URL: $s3_error"
    fi
  done
  cmp -s "$remote/files.sha256" "$dir/files.sha256" || { rm -rf "$remote"; fail "$newest: the off-site files.sha256 differs from the local one"; }
  ( cd "$remote" && sha256sum -c files.sha256 ) >/dev/null 2>&1 || { rm -rf "$remote"; fail "$newest: an off-site file does not match its checksum in files.sha256"; }
  rm -rf "$remote"
  checked="$checked; the off-site copy matches"
fi
msg="backup $newest verified: checksums match, $checked"
recorded=1
if ! err=$(record true "$msg" 2>&1); then
  echo "$msg, but recording the outcome in PostgreSQL FAILED: $err" >&2
  exit 1
fi
echo "$msg"
