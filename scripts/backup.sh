#!/usr/bin/env bash
# Saves the whole authz store (roles + bindings) as JSON via GET /export (admin token).
# The file is written only when the export succeeded, and 0600 (it lists every account's bindings).
#
# Usage: scripts/backup.sh [--url URL] [--out FILE]
#   --url   authz-server base URL (default $TOLLGATE_AUTHZ_URL or http://127.0.0.1:5001)
#   --out   destination (default authz-backup-<UTC time>.json in the current directory)
# Admin token: TOLLGATE_AUTHZ_ADMIN_TOKEN_FILE (preferred) or TOLLGATE_AUTHZ_ADMIN_TOKEN.
# Restore with scripts/restore.sh FILE.
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
out="authz-backup-$(date -u +%Y%m%dT%H%M%SZ).json"
while [ $# -gt 0 ]; do
  case "$1" in
    --url) url="${2:?--url needs a value}"; shift 2 ;;
    --out) out="${2:?--out needs a file}"; shift 2 ;;
    -h|--help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "backup: unknown option $1" >&2; exit 2 ;;
  esac
done
token="$(admin_token)" || exit 2

tmp="$(mktemp "$(dirname "$out")/.authz-backup.XXXXXX")"
trap 'rm -f "$tmp"' EXIT
status="$(curl -sS -o "$tmp" -w '%{http_code}' --max-time 60 -H @- "${url%/}/export" \
  <<<"Authorization: Bearer $token")" || { echo "backup: request to $url failed" >&2; exit 2; }
if [ "$status" != 200 ]; then
  echo "backup: GET /export answered HTTP $status: $(head -c 500 "$tmp")" >&2
  exit 2
fi
grep -q '"version"' "$tmp" || { echo "backup: the answer is not an authz export" >&2; exit 2; }
chmod 0600 "$tmp"
mv "$tmp" "$out"
trap - EXIT
echo "backup: authz state saved to $out"
