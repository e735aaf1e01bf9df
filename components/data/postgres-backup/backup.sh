#!/bin/sh
# Backup of every listed PostgreSQL database (run by auditflow:data:PostgresBackup's backup CronJob).
# Each database is dumped in pg_dump's custom format (compressed), encrypted with age to the
# recipients' public keys (no private key is needed to back up) and described in a manifest: the
# SHA-256 of each encrypted file and each table's row count at dump time. Only the newest
# BACKUP_KEEP backups are kept. With OFFSITE_URL set, the finished backup is then copied to an
# S3-compatible store, every file signed with its SHA-256 and files.sha256 last (s3.sh).
#
# Environment:
#   PGHOST                     required  the server's host (read by psql and pg_dump)
#   PGPORT                     required  the server's port
#   PGUSER                     required  a role that can read every database
#   PGPASSWORD                 required  its password
#   BACKUP_DIR                 required  the backup volume; each backup is a directory <UTC stamp>
#   OFFSITE_URL                optional  <endpoint>/<bucket>/<prefix> of the off-site store; no copy without it
#   OFFSITE_REGION             optional  SigV4 signing region (us-east-1 when unset)
#   OFFSITE_ACCESS_KEY_ID      optional  the store's access key ID (needed with OFFSITE_URL)
#   OFFSITE_SECRET_ACCESS_KEY  optional  the store's secret key (needed with OFFSITE_URL)
#   OFFSITE_CA_FILE            optional  PEM bundle to trust for the store
#   BACKUP_DATABASES           required  space-separated databases to back up
#   BACKUP_KEEP                optional  backups kept (7 when unset)
#   BACKUP_RECIPIENTS          required  space-separated age public keys to encrypt to
set -eu
umask 077
# shellcheck source=s3.sh
. "$(dirname "$0")/s3.sh"
: "${BACKUP_DATABASES:?list the databases to back up}" "${BACKUP_DIR:?}" "${BACKUP_RECIPIENTS:?age public keys}"
keep="${BACKUP_KEEP:-7}"
stamp=$(date -u +%Y%m%dT%H%M%SZ)
work="$BACKUP_DIR/.partial-$stamp"
mkdir -p "$work"
recipients=""
for r in $BACKUP_RECIPIENTS; do recipients="$recipients -r $r"; done
: > "$work/rows.txt"
for db in $BACKUP_DATABASES; do
  # Row counts at dump time, for the verification to compare against.
  psql -X -v ON_ERROR_STOP=1 -d "$db" -tA -c "select format('%s.%I.%I %s', current_database(), table_schema, table_name, (xpath('/row/c/text()', query_to_xml(format('select count(*) as c from %I.%I', table_schema, table_name), false, true, '')))[1]::text) from information_schema.tables where table_type = 'BASE TABLE' and table_schema not in ('pg_catalog', 'information_schema') order by 1" >> "$work/rows.txt"
  # Dump to a private file first so a failing pg_dump fails the run (sh has no pipefail), then
  # encrypt and remove the clear dump.
  pg_dump --format=custom --compress=6 --no-owner --dbname "$db" --file "$work/$db.dump"
  # shellcheck disable=SC2086
  age $recipients -o "$work/$db.dump.age" "$work/$db.dump"
  rm -f "$work/$db.dump"
done
{ echo "created=$stamp"; echo "databases='$BACKUP_DATABASES'"; } > "$work/backup.info"
( cd "$work" && sha256sum -- *.dump.age rows.txt backup.info > files.sha256 )
mv "$work" "$BACKUP_DIR/$stamp"
# The directory holds only the files this run wrote, all with plain names.
# shellcheck disable=SC2012
echo "backup $stamp: $(ls "$BACKUP_DIR/$stamp" | tr '\n' ' ')"
# Retention: keep the newest $keep complete backups. Only names that match the stamp pattern
# exactly are considered, so ls | grep cannot be misled by unusual file names.
# shellcheck disable=SC2010
ls -1 "$BACKUP_DIR" | grep -E '^[0-9]{8}T[0-9]{6}Z$' | sort -r | tail -n +$((keep + 1)) | while read -r old; do
  rm -rf -- "${BACKUP_DIR:?}/$old"
  echo "removed old backup $old"
done
[ -n "${OFFSITE_URL:-}" ] || exit 0
# Off-site copy: every file signed with its SHA-256, the manifest last.
cd "$BACKUP_DIR/$stamp"
for f in $(awk '{ print $2 }' files.sha256) files.sha256; do
  sum=$(sha256sum "$f" | cut -d ' ' -f 1)
  if ! s3 "$BACKUP_DIR/.offsite-response" -T "$f" -H "x-amz-content-sha256: $sum" "$OFFSITE_URL/$stamp/$f"; then
    rm -f "$BACKUP_DIR/.offsite-response"
    echo "off-site copy of backup $stamp FAILED at $f ($OFFSITE_URL): $s3_error; the local backup is complete" >&2
    exit 1
  fi
done
rm -f "$BACKUP_DIR/.offsite-response"
echo "backup $stamp copied off-site to $OFFSITE_URL/$stamp/"
