#!/usr/bin/env bash
# Deploys tollgate to the current kubectl context in the documented order:
#   key material (Secrets/ConfigMap from certs/) → authz (wait for rollout) → authn (wait) → registry (wait)
#   → the rest of the kustomization (Ingress, PDBs, the controller: wait for it once its authz token exists).
# When key material changed, the affected Deployments are restarted in a rotation-safe order
# (authz, then registry so it trusts the new bundle, then authn which signs with the new key).
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: scripts/k8s-deploy.sh [options]
  --certs DIR        where gen-certs.sh wrote the files (default: certs/)
  --users FILE       authn users file (default: <certs>/users.yaml)
  --kustomize DIR    kustomization to deploy (default: k8s/; e.g. k8s/overlays/production)
  --namespace NS     namespace the kustomization uses (default: tollgate)
  --timeout DUR      how long to wait for each rollout (default: 300s)
  --one-shot         create the key material, then a single `kubectl apply -k` (init containers order the start)
  --secrets-only     only create/update the Secrets tollgate-authz-tokens, tollgate-authn and the
                     ConfigMap tollgate-token-certs, then stop (for `kubectl apply -k` or GitOps afterwards)
  --no-secrets       leave key material alone (managed elsewhere, e.g. external-secrets)
  --render-secrets   print those three objects as YAML and exit (no cluster needed)
  -h, --help         this text
EOF
}

root="$(cd "$(dirname "$0")/.." && pwd)"
certs="$root/certs"
users=""
kdir="$root/k8s"
ns=tollgate
timeout=300s
mode=ordered
secrets=1
while [ $# -gt 0 ]; do
  case "$1" in
    --certs) certs="${2:?--certs needs a directory}"; shift 2 ;;
    --users) users="${2:?--users needs a file}"; shift 2 ;;
    --kustomize) kdir="${2:?--kustomize needs a directory}"; shift 2 ;;
    --namespace) ns="${2:?--namespace needs a name}"; shift 2 ;;
    --timeout) timeout="${2:?--timeout needs a duration}"; shift 2 ;;
    --one-shot) mode=one-shot; shift ;;
    --secrets-only) mode=secrets-only; shift ;;
    --render-secrets) mode=render-secrets; shift ;;
    --no-secrets) secrets=0; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "k8s-deploy: unknown option $1" >&2; usage >&2; exit 2 ;;
  esac
done
users="${users:-$certs/users.yaml}"
command -v kubectl >/dev/null || { echo "k8s-deploy: kubectl is required" >&2; exit 2; }

need() {
  [ -s "$1" ] || { echo "k8s-deploy: $1 is missing or empty ($2)" >&2; exit 2; }
}

render_secrets() {
  need "$certs/admin.token" "run scripts/gen-certs.sh"
  need "$certs/client.token" "run scripts/gen-certs.sh"
  need "$certs/metrics.token" "run scripts/gen-certs.sh (it adds the missing token, keeping the others)"
  need "$certs/token.key" "run scripts/gen-certs.sh"
  need "$certs/token.crt" "run scripts/gen-certs.sh"
  need "$certs/bundle.pem" "run scripts/gen-certs.sh"
  need "$users" "create the users file, see docs/deploy.md"
  # kubectl's client-side dry run prints `creationTimestamp: null`, which is not a valid timestamp.
  {
    kubectl create secret generic tollgate-authz-tokens --namespace "$ns" --dry-run=client -o yaml \
      --from-file=admin.token="$certs/admin.token" --from-file=client.token="$certs/client.token"
    echo ---
    kubectl create secret generic tollgate-authn --namespace "$ns" --dry-run=client -o yaml \
      --from-file=token.key="$certs/token.key" --from-file=users.yaml="$users" \
      --from-file=client.token="$certs/client.token" --from-file=metrics.token="$certs/metrics.token"
    echo ---
    kubectl create configmap tollgate-token-certs --namespace "$ns" --dry-run=client -o yaml \
      --from-file=token.crt="$certs/token.crt" --from-file=bundle.pem="$certs/bundle.pem"
  } | sed '/creationTimestamp: null/d'
}

if [ "$mode" = render-secrets ]; then
  render_secrets
  exit 0
fi

rendered="$(mktemp)"
trap 'rm -f "$rendered"' EXIT
kubectl kustomize "$kdir" > "$rendered"

# Namespace first (the key material lives in it), with the shared settings.
kubectl apply -f "$rendered" -l app.kubernetes.io/component=shared

changed=""
if [ "$secrets" = 1 ]; then
  out="$(render_secrets | kubectl apply -f -)"
  echo "$out"
  # "configured" = an existing object got new content: running pods still hold the old files.
  changed="$(echo "$out" | awk '/ configured$/ {print $1}')"
fi
[ "$mode" = secrets-only ] && exit 0

wait_for() {
  kubectl -n "$ns" rollout status "deployment/$1" --timeout "$timeout"
}

# The controller component is in the rendered objects when an object is named tollgate-controller (its
# Deployment, ServiceAccount, ClusterRole): a grep for its component label would also match the NetworkPolicies
# that admit ingress-nginx's pods (labelled `component: controller`). One line match, any awk or none.
has_controller() {
  grep -qx '  name: tollgate-controller' "$rendered"
}

# The controller reads its authz token from the Secret tollgate-controller-authz, which can only be made once
# authz runs (a scoped API token). On a first deploy it is missing and the controller's pods wait in
# ContainerCreating: say how to make it instead of waiting out the timeout.
controller_authz="tollgate-controller-authz"
wait_for_controller() {
  local err
  # Only a NotFound skips the wait: any other answer (no right to read Secrets, say) waits as before.
  if err="$(kubectl -n "$ns" get secret "$controller_authz" -o name 2>&1 >/dev/null)" || [[ "$err" != *NotFound* ]]; then
    wait_for tollgate-controller
    return
  fi
  cat >&2 <<EOF
k8s-deploy: not waiting for tollgate-controller: its authz token (Secret $controller_authz) does not exist yet.
  Create it now that authz runs (a robots:manage token for all namespaces, never the admin token):
    kubectl -n $ns port-forward svc/tollgate-authz 5001:5001 &
    tollgate token create controller --namespace '*' --ability robots:manage --token-file $certs/admin.token > controller.token &&
    kubectl -n $ns create secret generic $controller_authz --from-file=token=controller.token
  The controller's pods start once it exists; re-run this script to wait for them.
EOF
}

if [ "$mode" = one-shot ]; then
  kubectl apply -k "$kdir"
  for d in tollgate-authz tollgate-authn tollgate-registry; do wait_for "$d"; done
  if has_controller; then wait_for_controller; fi
else
  for c in authz authn registry; do
    kubectl apply -f "$rendered" -l "app.kubernetes.io/component=$c"
    wait_for "tollgate-$c"
  done
  # Then everything else the kustomization renders, after the servers it fronts or talks to: the controller
  # (components/controller), Ingresses, PodDisruptionBudgets, an overlay's own objects (the proxy). One apply of
  # the whole, so an object without one of the labels above is not left out; unchanged for what is already up.
  kubectl apply -f "$rendered"
  if has_controller; then wait_for_controller; fi
fi

restart() {
  kubectl -n "$ns" rollout restart "deployment/$1"
  wait_for "$1"
}
case "$changed" in *secret/tollgate-authz-tokens*) restart tollgate-authz ;; esac
case "$changed" in *configmap/tollgate-token-certs*) restart tollgate-registry ;; esac
case "$changed" in *secret/tollgate-authn*|*configmap/tollgate-token-certs*) restart tollgate-authn ;; esac
echo "k8s-deploy: tollgate is rolled out in namespace $ns"
