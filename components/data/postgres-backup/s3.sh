#!/bin/sh
# The off-site store's client, sourced by backup.sh and verify.sh.
#
# `s3 OUT CURL-ARGS...`: one request to an S3-compatible store, signed with SigV4 by curl; the
# response body goes to OUT. Returns 0 on a 2xx answer; otherwise sets s3_error to the HTTP status
# and the store's error code and message (or curl's own error) and returns 1. The credentials reach
# curl on standard input (a config file on stdin), never on its command line.
#
# Environment:
#   OFFSITE_ACCESS_KEY_ID      required  the store's access key ID
#   OFFSITE_SECRET_ACCESS_KEY  required  the store's secret key
#   OFFSITE_REGION             optional  SigV4 signing region (us-east-1 when unset)
#   OFFSITE_CA_FILE            optional  PEM bundle to trust for the store
# s3_error is read by the scripts that source this file.
# shellcheck disable=SC2034
s3() {
  s3_out="$1"
  shift
  s3_esc() { printf '%s' "$1" | sed 's/[\\"]/\\&/g'; }
  s3_code=$(printf 'user = "%s:%s"\n' "$(s3_esc "$OFFSITE_ACCESS_KEY_ID")" "$(s3_esc "$OFFSITE_SECRET_ACCESS_KEY")" |
    curl -sS -K - --aws-sigv4 "aws:amz:${OFFSITE_REGION:-us-east-1}:s3" --connect-timeout 10 \
      --max-time 3600 --retry 3 ${OFFSITE_CA_FILE:+--cacert "$OFFSITE_CA_FILE"} \
      -o "$s3_out" -w '%{http_code}' "$@" 2>"$s3_out.err") || {
    s3_error="$(cat "$s3_out.err")"
    rm -f "$s3_out.err"
    return 1
  }
  rm -f "$s3_out.err"
  case "$s3_code" in 2??) return 0 ;; esac
  s3_error="HTTP $s3_code $(sed -n 's:.*<Code>\([^<]*\)</Code>.*:\1:p' "$s3_out" 2>/dev/null | head -n 1): $(sed -n 's:.*<Message>\([^<]*\)</Message>.*:\1:p' "$s3_out" 2>/dev/null | head -n 1)"
  return 1
}
