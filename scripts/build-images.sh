#!/usr/bin/env bash
# Builds the tollgate image (tollgate:dev) from the Dockerfile on the engine DOCKER_HOST points at.
#
#   scripts/build-images.sh [--tag T] [--ca-bundle FILE] [--offline-base auto|always|never] [--no-cache]
#
# The Dockerfile's base is the official node:20-bookworm-slim. When that cannot be pulled (air-gapped,
# or no Docker Hub like on this project's CI), `auto` builds an equivalent base from Debian packages with
# mmdebstrap instead and says so: Debian trixie's Node 20, CA certificates and a `node` user with
# uid/gid 1000 like the official image (a second one adds npm and a compiler for the build stage), plus
# a stand-in for registry:2 from Debian's docker-registry 2.8 with the official image's layout
# (config /etc/docker/registry/config.yml, storage /var/lib/registry, `registry` on PATH, no auth
# section, port 5000). They are tagged tollgate-base/{node,node-build,registry} and printed as
# NODE_IMAGE=… / REGISTRY_IMAGE=… lines; compose and the tests read REGISTRY_IMAGE from there.
#
# Behind a TLS-intercepting proxy `npm ci` in the build needs the proxy's CA: --ca-bundle FILE (default:
# npm's `cafile`, else NODE_EXTRA_CA_CERTS) is handed to the build stage as a BuildKit secret, which is
# mounted for that one RUN step only and never stored in a layer of the image.
#
# Debian tarballs, downloaded .debs and the last built image are cached in $TOLLGATE_IMAGE_CACHE
# (default /var/cache/tollgate-images) so a second run neither downloads nor compiles again; delete the
# folder (or pass --no-cache for the image) to refresh.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"

tag=tollgate:dev
ca=""
offline=auto
use_cache=1
while [ $# -gt 0 ]; do
  case "$1" in
  --tag) tag=$2; shift 2 ;;
  --ca-bundle) ca=$2; shift 2 ;;
  --offline-base) offline=$2; shift 2 ;;
  --no-cache) use_cache=0; shift ;;
  -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
  *) echo "usage: $0 [--tag T] [--ca-bundle FILE] [--offline-base auto|always|never] [--no-cache]" >&2; exit 2 ;;
  esac
done
docker version >/dev/null 2>&1 || { echo "build-images: no Docker engine at ${DOCKER_HOST:-the default socket} (start one: scripts/dockerd.sh start DIR)" >&2; exit 1; }

cache=${TOLLGATE_IMAGE_CACHE:-/var/cache/tollgate-images}
mirror=${TOLLGATE_DEBIAN_MIRROR:-http://deb.debian.org/debian}
suite=trixie
NODE_BASE=tollgate-base/node:20-$suite
BUILD_BASE=tollgate-base/node-build:20-$suite
REGISTRY_BASE=tollgate-base/registry:2.8-debian
have_image() { docker image inspect "$1" >/dev/null 2>&1; }
log() { echo "build-images: $*" >&2; }

# One Debian root filesystem as a tarball (cached), imported as an image with the given settings.
# $1 tag, $2 cache name, $3 packages, $4 customize hook, then `docker import --change` lines.
debian_image() {
  local tag=$1 name=$2 pkgs=$3 hook=$4
  shift 4
  have_image "$tag" && return 0
  local tar="$cache/$name.tar" debs="$cache/debs-$name"
  mkdir -p "$debs"
  if [ ! -s "$tar" ]; then
    log "mmdebstrap $suite ($pkgs) → $tar"
    rm -f "$tar.part"
    # dpkg without fsync (mmdebstrap's eatmydata hook, removed again at the end): minutes faster.
    local hooks=()
    [ -d /usr/share/mmdebstrap/hooks/eatmydata ] && hooks=(--hook-dir=/usr/share/mmdebstrap/hooks/eatmydata)
    # sync-in/sync-out keep the downloaded .debs between runs; docs, man pages and locales stay out.
    mmdebstrap --quiet --variant=minbase --format=tar --include="$pkgs" \
      --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-exclude=/usr/share/man/*' \
      --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-exclude=/usr/share/info/*' \
      --skip=download/empty --skip=essential/unlink "${hooks[@]}" \
      --setup-hook='mkdir -p "$1"/var/cache/apt/archives' \
      --setup-hook="sync-in $debs /var/cache/apt/archives" \
      --customize-hook="$hook" \
      --customize-hook="sync-out /var/cache/apt/archives $debs" \
      "$suite" "$tar.part" "$mirror"
    mv "$tar.part" "$tar"
  fi
  # The build-stage base is imported only when a build needs it (a cached tollgate image does not).
  [ "${TAR_ONLY:-0}" = 1 ] && return 0
  local changes=()
  for c in "$@"; do changes+=(--change "$c"); done
  docker import "${changes[@]}" "$tar" "$tag" >/dev/null 2>"$cache/import-$name.log" || { log "docker import $tar failed: $(cat "$cache/import-$name.log")"; return 1; }
  log "imported $tag"
}

node_user='chroot "$1" useradd --uid 1000 --user-group --create-home --shell /bin/sh node'
# The official registry image's layout: what a compose file or manifest written for registry:2 expects.
registry_layout='mkdir -p "$1"/var/lib/registry "$1"/etc/docker/registry
  ln -sf /usr/bin/docker-registry "$1"/usr/bin/registry
  cat >"$1"/etc/docker/registry/config.yml <<EOF
version: 0.1
log:
  fields:
    service: registry
storage:
  cache:
    blobdescriptor: inmemory
  filesystem:
    rootdirectory: /var/lib/registry
http:
  addr: :5000
  headers:
    X-Content-Type-Options: [nosniff]
health:
  storagedriver:
    enabled: true
    interval: 10s
    threshold: 3
EOF'

node_image=${NODE_IMAGE:-node:20-bookworm-slim}
build_image=${BUILD_IMAGE:-$node_image}
registry_image=${REGISTRY_IMAGE:-registry:2}
use_offline=0
case "$offline" in
always) use_offline=1 ;;
never) ;;
auto)
  if ! have_image "$node_image" && ! timeout 60 docker pull -q "$node_image" >/dev/null 2>&1; then
    log "$node_image cannot be pulled here: building Debian-based equivalents offline with mmdebstrap"
    use_offline=1
  fi
  ;;
*) echo "build-images: --offline-base auto|always|never" >&2; exit 2 ;;
esac

if [ "$use_offline" = 1 ]; then
  command -v mmdebstrap >/dev/null || { log "mmdebstrap is missing (apt-get install mmdebstrap, or scripts/install-e2e-deps.sh)"; exit 1; }
  mkdir -p "$cache"
  node_changes=('ENV NODE_VERSION=20' 'CMD ["node"]')
  # Three independent downloads: in parallel, each with its own .deb cache.
  debian_image "$NODE_BASE" node nodejs,ca-certificates,passwd "$node_user" "${node_changes[@]}" &
  p1=$!
  build_base() { debian_image "$BUILD_BASE" node-build nodejs,npm,python3,make,g++,ca-certificates,passwd "$node_user" "${node_changes[@]}"; }
  TAR_ONLY=1 build_base &
  p2=$!
  debian_image "$REGISTRY_BASE" registry docker-registry,ca-certificates,wget "$registry_layout" \
    'EXPOSE 5000' 'VOLUME ["/var/lib/registry"]' 'ENTRYPOINT ["registry", "serve"]' 'CMD ["/etc/docker/registry/config.yml"]' &
  p3=$!
  wait $p1
  wait $p2
  wait $p3
  node_image=$NODE_BASE
  build_image=$BUILD_BASE
  registry_image=$REGISTRY_BASE
elif ! have_image "$registry_image"; then
  timeout 120 docker pull -q "$registry_image" >/dev/null || log "warning: $registry_image cannot be pulled"
fi

# The CA bundle for npm behind an intercepting proxy: an explicit file, else what npm and node use here.
if [ -z "$ca" ]; then
  npm_ca=$(npm config get cafile 2>/dev/null || true)
  if [ -n "$npm_ca" ] && [ "$npm_ca" != null ] && [ "$npm_ca" != undefined ] && [ -s "$npm_ca" ]; then ca=$npm_ca
  elif [ -n "${NODE_EXTRA_CA_CERTS:-}" ] && [ -s "$NODE_EXTRA_CA_CERTS" ]; then ca=$NODE_EXTRA_CA_CERTS
  fi
fi
secret=()
if [ -n "$ca" ]; then
  [ -s "$ca" ] || { log "--ca-bundle $ca: no such file"; exit 1; }
  secret=(--secret "id=npm_ca,src=$ca")
  log "npm in the build trusts $ca (build secret, not stored in the image)"
fi

# The built image is cached as a tarball keyed by everything the build reads (the Dockerfile, the
# build context's files, the bases' image ids): an unchanged tree loads in seconds instead of a
# rebuild (npm ci compiles better-sqlite3 when GitHub's prebuilt binaries are out of reach).
# A re-imported Debian base gets a new id each time, so its tarball (name, size, mtime) stands for it.
bases() {
  if [ "$use_offline" = 1 ]; then stat -c '%n %s %Y' "$cache/node.tar" "$cache/node-build.tar"
  else docker image inspect -f '{{.Id}}' "$node_image" "$build_image"; fi
}
key=$( { cat Dockerfile .dockerignore; find package.json package-lock.json tsconfig.json tsconfig.build.json bin common cli authz-server authn-server scripts -type f -print0 | sort -z | xargs -0 sha256sum; bases; } | sha256sum | cut -c1-16)
saved="$cache/tollgate-$key.tar"
start=$(date +%s)
if [ "$use_cache" = 1 ] && [ -s "$saved" ] && docker load -q -i "$saved" >/dev/null 2>&1 && have_image "$tag"; then
  log "loaded $tag from $saved (same sources and bases as when it was built)"
else
  if [ "$use_offline" = 1 ]; then build_base; fi
  # The host network: an engine started with --iptables=false gives build containers no way out otherwise.
  DOCKER_BUILDKIT=1 docker build --network host --progress plain \
    --build-arg "NODE_IMAGE=$node_image" --build-arg "BUILD_IMAGE=$build_image" "${secret[@]}" \
    -t "$tag" . >"${TOLLGATE_BUILD_LOG:-/dev/stderr}" 2>&1 || { log "docker build failed${TOLLGATE_BUILD_LOG:+ (log: $TOLLGATE_BUILD_LOG)}"; exit 1; }
  if [ "$use_cache" = 1 ] && mkdir -p "$cache"; then
    rm -f "$cache"/tollgate-*.tar
    docker save -o "$saved.part" "$tag" && mv "$saved.part" "$saved"
  fi
fi
size=$(docker image inspect -f '{{.Size}}' "$tag")
log "$tag ready in $(($(date +%s) - start)) s: $((size / 1000000)) MB (base $node_image: $(($(docker image inspect -f '{{.Size}}' "$node_image") / 1000000)) MB)"
echo "TOLLGATE_IMAGE=$tag"
echo "NODE_IMAGE=$node_image"
echo "REGISTRY_IMAGE=$registry_image"
