#!/usr/bin/env bash
# Generates everything tollgate needs to run, with openssl only:
#   - the token signing key + self-signed certificate (ES256 / P-256 by default, --rs256 for RSA 3072)
#     and bundle.pem, the registry's `auth.token.rootcertbundle` (old + new certificates during a rotation);
#   - a development CA and TLS server certificates for authz, authn and registry;
#   - the authz admin and client tokens (random, created once, never overwritten).
# Private keys and tokens are written 0600 and are git-ignored (certs/.gitignore).
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: scripts/gen-certs.sh [options]
  --out DIR        output directory (default: certs/ next to this script's repo)
  --rs256          RSA 3072 signing key (RS256) instead of EC P-256 (ES256)
  --days N         validity of every certificate in days (default 365)
  --hosts "A B"    extra DNS names / IPs added to every TLS certificate (e.g. "registry.example.com 10.0.0.5");
                   re-issues the TLS certificates (otherwise existing ones are kept)
  --rotate         new signing key + certificate; bundle.pem keeps the previous certificate(s) so
                   tokens signed with the old key stay valid until you run --prune-bundle; the
                   replaced certificate is also kept as token.previous.crt (for a registry 3.x JWKS)
  --prune-bundle   rewrite bundle.pem with only the current token.crt and delete token.previous.crt
                   (end of a rotation), nothing else
  --force          overwrite an existing signing key and CA (breaks every token already issued)
  -h, --help       this text
EOF
}

root="$(cd "$(dirname "$0")/.." && pwd)"
out="$root/certs"
alg=ES256
days=365
extra_hosts=""
rotate=0
prune=0
force=0
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out="${2:?--out needs a directory}"; shift 2 ;;
    --rs256) alg=RS256; shift ;;
    --days) days="${2:?--days needs a number}"; shift 2 ;;
    --hosts) extra_hosts="${2:?--hosts needs a list}"; shift 2 ;;
    --rotate) rotate=1; shift ;;
    --prune-bundle) prune=1; shift ;;
    --force) force=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "gen-certs: unknown option $1" >&2; usage >&2; exit 2 ;;
  esac
done
case "$days" in ''|*[!0-9]*) echo "gen-certs: --days must be a positive integer" >&2; exit 2 ;; esac
command -v openssl >/dev/null || { echo "gen-certs: openssl is required (apt-get install openssl)" >&2; exit 2; }

mkdir -p "$out"
cd "$out"
umask 077

serial() { echo "0x$(openssl rand -hex 16)"; }

if [ "$prune" = 1 ]; then
  [ -f token.crt ] || { echo "gen-certs: $out/token.crt does not exist" >&2; exit 2; }
  cp token.crt bundle.pem && chmod 0644 bundle.pem
  rm -f token.previous.crt
  echo "gen-certs: bundle.pem now holds only the current token.crt (token.previous.crt removed); restart/redeploy the registry"
  exit 0
fi

new_signing_key() {
  if [ "$alg" = RS256 ]; then
    openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:3072 -out "$1" 2>/dev/null
  else
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -pkeyopt ec_param_enc:named_curve -out "$1"
  fi
  chmod 0600 "$1"
}

# --- token signing key and certificate ------------------------------------------------------------
if [ -f token.key ] && [ "$rotate" = 0 ] && [ "$force" = 0 ]; then
  echo "gen-certs: token.key exists, kept (use --rotate for a new key, --force to replace it)"
else
  stamp="$(date -u +%Y%m%dT%H%M%SZ)"
  new_signing_key token.key.new
  openssl req -new -x509 -sha256 -key token.key.new -days "$days" -set_serial "$(serial)" \
    -subj "/CN=tollgate token signer $stamp" -out token.crt.new
  if [ "$rotate" = 1 ] && [ -f bundle.pem ]; then
    # New certificate first, then everything the registry trusted before.
    cat token.crt.new bundle.pem > bundle.pem.new
  elif [ "$rotate" = 1 ] && [ -f token.crt ]; then
    cat token.crt.new token.crt > bundle.pem.new
  else
    cp token.crt.new bundle.pem.new
  fi
  # The replaced certificate stays available on its own for a registry 3.x JWKS built from files
  # (`tollgate keys bundle --jwks … token.crt token.previous.crt`); bundle.pem already holds it.
  if [ "$rotate" = 1 ] && [ -f token.crt ]; then cp token.crt token.previous.crt && chmod 0644 token.previous.crt; fi
  mv token.key.new token.key
  mv token.crt.new token.crt
  mv bundle.pem.new bundle.pem
  chmod 0644 token.crt bundle.pem
  echo "gen-certs: new $alg signing key token.key and certificate token.crt"
fi

# --- development CA and TLS server certificates -------------------------------------------------------
if [ ! -f ca.key ] || [ "$force" = 1 ]; then
  openssl req -new -x509 -sha256 -days "$days" -set_serial "$(serial)" \
    -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.crt \
    -subj "/CN=tollgate development CA" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
  chmod 0600 ca.key && chmod 0644 ca.crt
  echo "gen-certs: new development CA ca.crt"
fi

for svc in authz authn registry; do
  # Kept across runs (a key rotation must not churn TLS); --hosts, --force or a deleted file re-issues.
  if [ -f "$svc.crt" ] && [ -f "$svc.key" ] && [ "$force" = 0 ] && [ -z "$extra_hosts" ]; then continue; fi
  san="DNS:$svc,DNS:tollgate-$svc,DNS:localhost,IP:127.0.0.1"
  for h in $extra_hosts; do
    if [[ "$h" =~ ^[0-9.]+$ || "$h" == *:* ]]; then san="$san,IP:$h"; else san="$san,DNS:$h"; fi
  done
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$svc.key" \
    -subj "/CN=$svc" -out "$svc.csr" 2>/dev/null
  printf 'subjectAltName=%s\nbasicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n' "$san" > "$svc.ext"
  openssl x509 -req -sha256 -in "$svc.csr" -CA ca.crt -CAkey ca.key -set_serial "$(serial)" \
    -days "$days" -extfile "$svc.ext" -out "$svc.crt" 2>/dev/null
  rm -f "$svc.csr" "$svc.ext"
  chmod 0600 "$svc.key" && chmod 0644 "$svc.crt"
done
echo "gen-certs: TLS certificates authz.crt authn.crt registry.crt (signed by ca.crt) present"

# --- tokens: authz admin and client, authn /metrics ---------------------------------------------------------------------------------------
for t in admin client metrics; do
  if [ ! -s "$t.token" ]; then
    openssl rand -hex 32 > "$t.token"
    chmod 0600 "$t.token"
    echo "gen-certs: new $t.token"
  fi
done

cat <<EOF

Files in $out:
  token.key     signing key ($alg)            -> authn --key          (secret: never leaves authn)
  token.crt     its certificate               -> authn --cert         (sent in the JWT x5c header)
  bundle.pem    certificates the registry trusts -> registry auth.token.rootcertbundle
                (registry 3.x with jwks instead: tollgate keys bundle --jwks jwks.json --kid-format thumbprint token.crt)
  admin.token   authz admin API token         -> authz --admin-token-file, backup.sh / restore.sh
  client.token  authz /authorized token       -> authz --client-token-file AND authn --authz-token-file
  metrics.token authn /metrics bearer token   -> authn --metrics-token-file, your Prometheus scrape config
  ca.crt        development CA                -> clients' trust store (e.g. /etc/docker/certs.d/<host>/ca.crt)
  ca.key        development CA key            -> keep offline; only gen-certs.sh uses it
  registry.crt/.key  TLS for the registry     -> registry http.tls.certificate / http.tls.key
  authn.crt/.key     TLS for the token server -> your ingress / reverse proxy in front of authn
  authz.crt/.key     TLS for the admin API    -> your ingress / reverse proxy in front of authz
Kubernetes: scripts/k8s-deploy.sh --certs $out   creates the Secrets / ConfigMap from these files.
EOF
