#!/usr/bin/env bash
# A private Docker engine for builds and the deployment tests: its own data root, exec root and socket
# under DIR, so it never meets a system dockerd or another test's engine.
#
#   scripts/dockerd.sh start DIR [overlay2|vfs|auto] [--isolated]
#                                  # prints: export DOCKER_HOST=unix://DIR/docker.sock
#   scripts/dockerd.sh exec DIR CMD…   # runs CMD in the engine's network namespace (for --isolated)
#   scripts/dockerd.sh stop DIR [--purge]   # stops it by its PID; --purge deletes DIR (images too)
#
# No iptables (many CI machines have none). Without --isolated the engine shares the host network and
# has no bridge: what it is for is builds, which then use the host network (`docker build --network
# host`) to reach apt and npm. With --isolated it runs in a network namespace of its own (loopback
# only, no way out): bridges, container addresses and published ports exist only in there, so a compose
# stack neither touches the host's interfaces nor meets another engine's bridge; clients reach the
# published ports through `exec`. `auto` tries overlay2 first (one copy-on-write layer per step) and
# falls back to vfs, which copies the whole root filesystem per layer.
set -euo pipefail
export PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"

cmd=${1:-}
dir=${2:-}
case "$cmd" in -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;; esac
[ -n "$cmd" ] && [ -n "$dir" ] || { echo "usage: $0 start DIR [overlay2|vfs|auto] [--isolated] | exec DIR CMD… | stop DIR [--purge]" >&2; exit 2; }
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
sock="$dir/docker.sock"
pidfile="$dir/dockerd.pid"

running() { [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; }

# One try with one storage driver; 0 once the API answers.
try_start() {
  local driver=$1
  : >"$dir/dockerd.log"
  rm -f "$pidfile"
  local args=(--data-root "$dir/data" --exec-root "$dir/exec" --pidfile "$pidfile" -H "unix://$sock"
    --iptables=false --ip6tables=false --storage-driver "$driver")
  if [ "$isolated" = 1 ]; then
    # unshare waits for dockerd (its child); the pidfile names dockerd itself.
    unshare --net --fork --kill-child sh -c 'ip link set lo up && exec dockerd "$@"' dockerd "${args[@]}" >>"$dir/dockerd.log" 2>&1 &
  else
    dockerd "${args[@]}" --bridge=none >>"$dir/dockerd.log" 2>&1 &
  fi
  local pid=$!
  for _ in $(seq 1 120); do
    if ! kill -0 "$pid" 2>/dev/null; then return 1; fi
    if DOCKER_HOST="unix://$sock" docker version >/dev/null 2>&1; then
      echo "$driver" >"$dir/driver"
      return 0
    fi
    sleep 0.5
  done
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  return 1
}

case "$cmd" in
start)
  want=auto
  isolated=0
  for a in "${@:3}"; do
    case "$a" in
    --isolated) isolated=1 ;;
    *) want=$a ;;
    esac
  done
  if running; then echo "export DOCKER_HOST=unix://$sock"; exit 0; fi
  case "$want" in
  auto) drivers=(overlay2 vfs) ;;
  overlay2 | vfs) drivers=("$want") ;;
  *) echo "dockerd.sh: unknown storage driver $want" >&2; exit 2 ;;
  esac
  for d in "${drivers[@]}"; do
    if try_start "$d"; then
      echo "dockerd.sh: engine up (storage $d, pid $(cat "$pidfile"), log $dir/dockerd.log)" >&2
      echo "export DOCKER_HOST=unix://$sock"
      exit 0
    fi
    echo "dockerd.sh: storage driver $d failed: $(tail -3 "$dir/dockerd.log")" >&2
    rm -rf "$dir/data"
  done
  exit 1
  ;;
exec)
  running || { echo "dockerd.sh: no engine running in $dir" >&2; exit 1; }
  exec nsenter --net="/proc/$(cat "$pidfile")/ns/net" "${@:3}"
  ;;
stop)
  if running; then
    pid=$(cat "$pidfile")
    # Containers first (dockerd would stop them too, but with its own 15 s grace per container).
    ids=$(DOCKER_HOST="unix://$sock" docker ps -q 2>/dev/null || true)
    [ -z "$ids" ] || DOCKER_HOST="unix://$sock" docker kill $ids >/dev/null 2>&1 || true
    kill "$pid"
    for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
  fi
  # dockerd leaves its data root (and overlay mounts on a crash) mounted under DIR: unmount, deepest first.
  awk -v d="$dir/" 'index($2, d) == 1 { print $2 }' /proc/mounts | sort -r | while read -r m; do umount -l "$m" 2>/dev/null || true; done
  if [ "${3:-}" = "--purge" ]; then rm -rf "$dir"; fi
  ;;
*)
  echo "usage: $0 start DIR [overlay2|vfs|auto] [--isolated] | exec DIR CMD… | stop DIR [--purge]" >&2
  exit 2
  ;;
esac
