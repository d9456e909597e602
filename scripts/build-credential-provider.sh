#!/usr/bin/env bash
# Builds `tollgate-credential-provider`, the kubelet credential provider (KEP-4412), as ONE executable file
# for nodes without Node.js: Node's single executable applications (node --experimental-sea-config) with the
# blob injected by postject into a copy of this machine's `node` binary.
# cli/credential-provider/plugin.ts uses node builtins only, so it compiles to one CommonJS file — the only
# kind of file a single executable can run. Build on the nodes' OS and CPU architecture.
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: scripts/build-credential-provider.sh [options]
  --out FILE    where to write the executable (default: dist/tollgate-credential-provider)
  -h, --help    this text
EOF
}

root="$(cd "$(dirname "$0")/.." && pwd)"
out="$root/dist/tollgate-credential-provider"
while [ $# -gt 0 ]; do
  case "$1" in
    --out) [ $# -ge 2 ] || { echo "--out needs a file" >&2; exit 2; }; out="$2"; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "unknown option: $1" >&2; usage >&2; exit 2 ;;
  esac
done

node_bin="$(command -v node)"
major="$("$node_bin" -p 'process.versions.node.split(".")[0]')"
if [ "$major" -lt 20 ]; then
  echo "node $("$node_bin" --version) cannot build single executable applications: Node 20 or newer is needed" >&2
  exit 1
fi
postject="$root/node_modules/.bin/postject"
[ -x "$postject" ] || { echo "postject is missing: run npm ci first" >&2; exit 1; }

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# 1. One CommonJS file: the plugin compiled on its own, plus the call of its main().
"$root/node_modules/.bin/tsc" --module commonjs --moduleResolution node10 --target ES2022 --types node --skipLibCheck \
  --strict --outDir "$work/js" "$root/cli/credential-provider/plugin.ts"
{
  cat "$work/js/plugin.js"
  echo 'exports.main(process.argv.slice(2)).then((code) => { process.exitCode = code; });'
} > "$work/main.cjs"

# 2. The SEA blob, 3. a copy of node, 4. the blob injected into it.
cat > "$work/sea-config.json" <<EOF
{ "main": "$work/main.cjs", "output": "$work/sea.blob", "disableExperimentalSEAWarning": true }
EOF
# Their chatter (and postject's harmless ELF note warnings) is shown only when a step fails.
quiet() { "$@" >"$work/log" 2>&1 || { cat "$work/log" >&2; exit 1; }; }
quiet "$node_bin" --experimental-sea-config "$work/sea-config.json"
mkdir -p "$(dirname "$out")"
cp "$node_bin" "$work/bin"
quiet "$postject" "$work/bin" NODE_SEA_BLOB "$work/sea.blob" --sentinel-fuse NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2
chmod 0755 "$work/bin"
mv "$work/bin" "$out"
echo "$out"
