#!/usr/bin/env bash
# Installs, from Debian packages, what the test suites need: the Distribution registry, skopeo, podman,
# postgresql (server binaries for the authz PostgreSQL tests), chromium (the console's browser tests) and docker.io (dockerd, containerd, ctr,
# docker CLI); for the deployment suite also mmdebstrap (offline base images) and Compose v2 + buildx
# from Debian trixie (see below). Idempotent: does nothing when everything is present.
# Works as root or through sudo on Debian bookworm (apt). `npm test` then runs every e2e scenario for real.
set -euo pipefail

# dockerd and friends live in /usr/sbin, which a non-root PATH may lack.
export PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"
have() { command -v "$1" >/dev/null 2>&1; }

need=()
have docker-registry || need+=(docker-registry)
have skopeo || need+=(skopeo)
have podman || need+=(podman)
{ have dockerd && have containerd && have ctr && have docker; } || need+=(docker.io)
have openssl || need+=(openssl)
{ have tar && have gzip; } || need+=(tar gzip)
# scripts/ext_authz.sh, backup.sh and restore.sh speak HTTP with curl; the readiness tests run busybox-style wget.
have curl || need+=(curl)
# The authz store tests start their own PostgreSQL server (initdb, postgres) from Debian's package.
ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || need+=(postgresql)
have wget || need+=(wget)
# scripts/build-images.sh builds Node and registry base images from Debian packages when Docker Hub is out of reach.
have mmdebstrap || need+=(mmdebstrap)
# The web console's browser tests drive Debian's Chromium (/usr/bin/chromium) with playwright-core.
have chromium || need+=(chromium)

# apt-get as root, or through sudo (which drops the environment, so the frontend goes through env(1)).
# Only needed when something is missing: a machine that has everything needs neither root nor sudo.
apt() {
  if [ "$(id -u)" -eq 0 ]; then
    env DEBIAN_FRONTEND=noninteractive apt-get "$@"
  elif have sudo; then
    sudo env DEBIAN_FRONTEND=noninteractive apt-get "$@"
  else
    echo "install-e2e-deps: run as root (or install sudo) to install: ${need[*]:-kubernetes-client}" >&2
    return 1
  fi
}
updated=0

if [ ${#need[@]} -eq 0 ]; then
  echo "install-e2e-deps: registry and clients present"
else
  have apt-get || { echo "install-e2e-deps: no apt-get; install ${need[*]} by hand" >&2; exit 1; }
  echo "install-e2e-deps: installing ${need[*]}"
  apt update -qq
  updated=1
  apt install -y -qq "${need[@]}"
fi

# Print what the suite will run against (and fail now, not mid-suite, if something is still missing).
for b in docker-registry skopeo podman dockerd containerd ctr docker; do
  have "$b" || { echo "install-e2e-deps: $b still missing after install" >&2; exit 1; }
done
echo "install-e2e-deps: $(docker-registry --version 2>/dev/null | head -1); $(skopeo --version); $(podman --version); $(containerd --version | cut -d' ' -f1,3); $(dockerd --version)"

# kubectl renders k8s/ in the manifest tests. The machine image ships it; if it is missing, try Debian's
# kubernetes-client and carry on without it (those tests then say what is missing).
if ! have kubectl; then
  [ "$updated" -eq 1 ] || apt update -qq || true
  apt install -y -qq kubernetes-client || echo "install-e2e-deps: kubectl unavailable"
fi

# Compose v2 and buildx: bookworm's docker-compose is 1.29 (it rejects our file's top-level `name:`) and
# bookworm has no buildx, which a Docker CLI >= 23 needs for BuildKit builds (the Dockerfile's build
# secret). Trixie's packages are static Go binaries depending on libc6 only: take just those two from
# trixie (pinned at priority 1, so nothing else is ever upgraded from it) and no recommends, because
# trixie's docker-cli would replace bookworm's docker.io and with it dockerd.
if ! docker compose version 2>/dev/null | grep -q 'version v\?2' || ! docker buildx version >/dev/null 2>&1; then
  if [ -f /etc/debian_version ] && grep -q '^12' /etc/debian_version; then
    echo "install-e2e-deps: Compose v2 + buildx from Debian trixie"
    as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
    printf 'Types: deb\nURIs: http://deb.debian.org/debian\nSuites: trixie\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' |
      as_root tee /etc/apt/sources.list.d/tollgate-trixie.sources >/dev/null
    printf 'Package: *\nPin: release n=trixie\nPin-Priority: 1\n' | as_root tee /etc/apt/preferences.d/tollgate-trixie >/dev/null
    apt update -qq
    apt install -y -qq --no-install-recommends docker-compose/trixie docker-buildx/trixie
  else
    apt install -y -qq --no-install-recommends docker-compose docker-buildx || true
  fi
fi
echo "install-e2e-deps: $(docker compose version 2>&1 | head -1); buildx $(docker buildx version 2>&1 | cut -d' ' -f2); mmdebstrap $(mmdebstrap --version 2>/dev/null | cut -d' ' -f2)"
