#!/usr/bin/env bash
# Loads a backup made by backup.sh (or GET /export) into authz-server via POST /import (admin token).
# The import is all or nothing: a file with any invalid role or binding changes nothing.
#
# Usage: scripts/restore.sh FILE [--url URL] [--merge]
#   --url    authz-server base URL (default $TOLLGATE_AUTHZ_URL or http://127.0.0.1:5001)
#   --merge  add/replace the file's roles and bindings, keep the others (default: replace everything)
# Admin token: TOLLGATE_AUTHZ_ADMIN_TOKEN_FILE (preferred) or TOLLGATE_AUTHZ_ADMIN_TOKEN.
set -euo pipefail
# Admin token from TOLLGATE_AUTHZ_ADMIN_TOKEN_FILE (preferred) or TOLLGATE_AUTHZ_ADMIN_TOKEN, trimmed.
admin_token() {
  local t
  if [ -n "${TOLLGATE_AUTHZ_ADMIN_TOKEN_FILE:-}" ]; then
    [ -r "$TOLLGATE_AUTHZ_ADMIN_TOKEN_FILE" ] || { echo "cannot read TOLLGATE_AUTHZ_ADMIN_TOKEN_FILE=$TOLLGATE_AUTHZ_ADMIN_TOKEN_FILE" >&2; return 1; }
    t="$(<"$TOLLGATE_AUTHZ_ADMIN_TOKEN_FILE")"
  else
    t="${TOLLGATE_AUTHZ_ADMIN_TOKEN:-}"
  fi
  t="${t#"${t%%[![:space:]]*}"}"
  t="${t%"${t##*[![:space:]]}"}"
  [ -n "$t" ] || { echo "no admin token: set TOLLGATE_AUTHZ_ADMIN_TOKEN_FILE or TOLLGATE_AUTHZ_ADMIN_TOKEN" >&2; return 1; }
  printf '%s' "$t"
}

url="${TOLLGATE_AUTHZ_URL:-http://127.0.0.1:5001}"
mode=replace
file=""
while [ $# -gt 0 ]; do
  case "$1" in
    --url) url="${2:?--url needs a value}"; shift 2 ;;
    --merge) mode=merge; shift ;;
    -h|--help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "restore: unknown option $1" >&2; exit 2 ;;
    *) [ -z "$file" ] || { echo "restore: one file only" >&2; exit 2; }; file="$1"; shift ;;
  esac
done
[ -n "$file" ] || { echo "usage: scripts/restore.sh FILE [--url URL] [--merge]" >&2; exit 2; }
[ -r "$file" ] || { echo "restore: cannot read $file" >&2; exit 2; }
token="$(admin_token)" || exit 2

body="$(mktemp)"
trap 'rm -f "$body"' EXIT
status="$(curl -sS -o "$body" -w '%{http_code}' --max-time 120 -X POST -H 'Content-Type: application/json' \
  -H @- --data-binary @"$file" "${url%/}/import?mode=$mode" <<<"Authorization: Bearer $token")" \
  || { echo "restore: request to $url failed" >&2; exit 2; }
if [ "$status" != 200 ]; then
  echo "restore: POST /import answered HTTP $status: $(head -c 1000 "$body")" >&2
  exit 1
fi
echo "restore: $(cat "$body")"
