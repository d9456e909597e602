#!/usr/bin/env bash
# Builds `tollgate-credential-provider`, the kubelet credential provider (KEP-4412), as ONE executable file
# for nodes without Node.js: Node's single executable applications (node --experimental-sea-config) with the
# blob injected by postject into a copy of this machine's `node` binary.
# cli/credential-provider/plugin.ts uses node builtins only, so it compiles to one CommonJS file — the only
# kind of file a single executable can run. Build on the nodes' OS and CPU architecture. Runs from any directory.
#
# Environment injection: a Node single executable still honours NODE_OPTIONS (`--require evil.js` runs before
# the plugin; Node 20 has no switch against it — `execArgvExtension: "none"` exists only in newer Node) and
# OPENSSL_CONF (read at start-up; an OpenSSL config can load a provider, i.e. a shared library). Whoever sets
# the kubelet's environment could run code as the kubelet's user through the plugin. So the copy of `node`
# that becomes the executable has the C-string names of those two variables renamed (exactly one occurrence
# each, same length), and the build then proves on the result that both are ignored — or fails.
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: scripts/build-credential-provider.sh [options]
  --out FILE    where to write the executable (default: dist/tollgate-credential-provider)
  -h, --help    this text
EOF
}

root="$(cd "$(dirname "$0")/.." && pwd)"
# The build's own node runs must not pick up a caller's preloads (a test runner's `--import tsx`, say).
unset NODE_OPTIONS
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
# --typeRoots: without a tsconfig, tsc looks for @types/node under the *current* directory.
"$root/node_modules/.bin/tsc" --module commonjs --moduleResolution node10 --target ES2022 --types node --skipLibCheck \
  --typeRoots "$root/node_modules/@types" --strict --outDir "$work/js" "$root/cli/credential-provider/plugin.ts"
{
  cat "$work/js/plugin.js"
  echo 'exports.main(process.argv.slice(2)).then((code) => { process.exitCode = code; });'
} > "$work/main.cjs"

# 2. The SEA blob, 3. a copy of node, 4. the blob injected into it.
cat > "$work/sea-config.json" <<EOF
{ "main": "$work/main.cjs", "output": "$work/sea.blob", "disableExperimentalSEAWarning": true, "execArgvExtension": "none" }
EOF
# Their chatter (and postject's harmless ELF note warnings) is shown only when a step fails.
quiet() { "$@" >"$work/log" 2>&1 || { cat "$work/log" >&2; exit 1; }; }
quiet "$node_bin" --experimental-sea-config "$work/sea-config.json"
mkdir -p "$(dirname "$out")"
cp "$node_bin" "$work/bin"
# Rename the variables node reads at start-up (see the top): NODE_OPTIONS → _TGCP_NOOPTS, OPENSSL_CONF → _TGCP_NOCONF.
"$node_bin" -e '
  const fs = require("fs");
  const file = process.argv[1];
  let bin = fs.readFileSync(file);
  for (const [from, to] of [["NODE_OPTIONS", "_TGCP_NOOPTS"], ["OPENSSL_CONF", "_TGCP_NOCONF"]]) {
    const needle = Buffer.from(`\0${from}\0`);
    const at = [];
    // The C string, right after another one (a printable byte before its leading NUL) — not the V8 snapshot
    // copies of the JS strings, which follow a binary length field.
    for (let i = bin.indexOf(needle); i >= 0; i = bin.indexOf(needle, i + 1)) if (bin[i - 1] >= 0x20 && bin[i - 1] < 0x7f) at.push(i);
    if (at.length !== 1) { console.error(`expected one "${from}" name in ${file}, found ${at.length}: cannot harden this node build`); process.exit(1); }
    bin.write(to, at[0] + 1, "latin1");
  }
  fs.writeFileSync(file, bin);
' "$work/bin"
quiet "$postject" "$work/bin" NODE_SEA_BLOB "$work/sea.blob" --sentinel-fuse NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2
chmod 0755 "$work/bin"

# 5. Proof on the result: a preload in NODE_OPTIONS and a broken OPENSSL_CONF change nothing.
echo "require('fs').writeFileSync('$work/injected', '')" > "$work/inject.cjs"
printf 'nodejs_conf = c\n[c]\nproviders = p\n[p]\nx = s\n[s]\nmodule = %s/missing.so\nactivate = 1\n' "$work" > "$work/openssl.cnf"
set +e
probe="$(echo '{}' | env NODE_OPTIONS="--require $work/inject.cjs" OPENSSL_CONF="$work/openssl.cnf" "$work/bin" --registry registry.invalid 2>&1)"
code=$?
set -e
if [ "$code" -ne 1 ] || [ -e "$work/injected" ] || ! grep -q 'apiVersion undefined is not supported' <<<"$probe"; then
  echo "the built executable still honours NODE_OPTIONS or OPENSSL_CONF (exit $code): $probe" >&2
  exit 1
fi
case "$out" in /*) ;; *) out="$PWD/$out" ;; esac
mv "$work/bin" "$out"
echo "$out"
