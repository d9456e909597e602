#!/usr/bin/env bash
# cesanta/docker_auth `ext_authz` bridge: lets docker_auth ask tollgate's authz-server.
# docker_auth runs this once per scope with JSON on stdin, e.g.
#   {"Account":"alice","Type":"repository","Name":"ns/app","Service":"registry","IP":"10.0.0.7","Actions":["pull","push"],"Labels":null}
# which is exactly the body of POST /authorized. The JSON is read whole before anything else (so the
# writer never gets EPIPE, even when the script then fails early) and handed to curl on its stdin
# (--data-binary @-) from a quoted variable — never re-parsed by a shell, so spaces, quotes and `$`
# arrive untouched.
#
# Exit status (docker_auth's contract): 0 = every requested action granted (HTTP 200),
# 1 = denied (HTTP 403), 2 = could not decide (bad config, authz unreachable, any other status);
# docker_auth answers 500 on 2, so it fails closed.
#
# Environment:
#   TOLLGATE_AUTHZ_URL                base URL of authz-server (default http://127.0.0.1:5001)
#   TOLLGATE_AUTHZ_CLIENT_TOKEN_FILE  file holding the client token (preferred), or
#   TOLLGATE_AUTHZ_CLIENT_TOKEN       the client token itself
#   TOLLGATE_EXT_AUTHZ_TIMEOUT        seconds for the whole request (default 5)
#
# docker_auth config:
#   ext_authz:
#     command: /usr/local/bin/ext_authz.sh
#     args: []
set -uo pipefail

fail() { echo "ext_authz: $*" >&2; exit 2; }

# First, before any check that can exit: consume the whole request from stdin.
body="$(cat)" || fail "cannot read the request from stdin"
[[ "$body" =~ [^[:space:]] ]] || fail "no request JSON on stdin"

url="${TOLLGATE_AUTHZ_URL:-http://127.0.0.1:5001}"
url="${url%/}/authorized"
timeout="${TOLLGATE_EXT_AUTHZ_TIMEOUT:-5}"
case "$timeout" in ''|*[!0-9.]*) fail "TOLLGATE_EXT_AUTHZ_TIMEOUT must be a number of seconds" ;; esac
command -v curl >/dev/null || fail "curl is required"

if [ -n "${TOLLGATE_AUTHZ_CLIENT_TOKEN_FILE:-}" ]; then
  [ -r "$TOLLGATE_AUTHZ_CLIENT_TOKEN_FILE" ] || fail "cannot read TOLLGATE_AUTHZ_CLIENT_TOKEN_FILE=$TOLLGATE_AUTHZ_CLIENT_TOKEN_FILE"
  token="$(<"$TOLLGATE_AUTHZ_CLIENT_TOKEN_FILE")"
else
  token="${TOLLGATE_AUTHZ_CLIENT_TOKEN:-}"
fi
# Trim surrounding whitespace (files usually end with a newline).
token="${token#"${token%%[![:space:]]*}"}"
token="${token%"${token##*[![:space:]]}"}"
[ -n "$token" ] || fail "no client token: set TOLLGATE_AUTHZ_CLIENT_TOKEN_FILE or TOLLGATE_AUTHZ_CLIENT_TOKEN"

# The header is read from a pipe fed by printf (a bash builtin), so the token never shows up in `ps`;
# the body reaches curl's stdin from a here-string (no argv, no re-parsing).
status="$(curl -sS -o /dev/null -w '%{http_code}' --max-time "$timeout" -X POST \
  -H 'Content-Type: application/json' -H @<(printf 'Authorization: Bearer %s\n' "$token") \
  --data-binary @- "$url" <<<"$body")" || fail "request to $url failed"

case "$status" in
  200) exit 0 ;;
  403) exit 1 ;;
  *) fail "authz-server answered HTTP $status" ;;
esac
