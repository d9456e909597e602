#!/usr/bin/env bash
# Installs, from Debian packages, what the e2e suite needs: the Distribution registry, skopeo, podman,
# and docker.io (dockerd, containerd, ctr). Idempotent: does nothing when everything is present.
set -euo pipefail
need=()
command -v docker-registry >/dev/null || need+=(docker-registry)
command -v skopeo >/dev/null || need+=(skopeo)
command -v podman >/dev/null || need+=(podman)
{ command -v dockerd >/dev/null && command -v containerd >/dev/null && command -v ctr >/dev/null; } || need+=(docker.io)
command -v openssl >/dev/null || need+=(openssl)
if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
if [ ${#need[@]} -eq 0 ]; then
  echo "install-e2e-deps: registry and clients present"
else
  echo "install-e2e-deps: installing ${need[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}"
fi

# kubectl renders k8s/ in the manifest tests. The machine image ships it; if it is missing, try Debian's
# kubernetes-client and carry on without it (those tests then say what is missing).
if ! command -v kubectl >/dev/null; then
  $SUDO apt-get install -y -qq kubernetes-client || echo "install-e2e-deps: kubectl unavailable"
fi
