import type { Command } from 'commander';
import { registerCredentialCommands } from '../credentials/cli.js';
import { DEFAULTS } from '../config.js';
import { registerKeysCommands } from '../keys/cli.js';

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

/** Registers `authn serve`, `keys generate|bundle`, and (from credentials/) `hash-password`. */
export function registerAuthnCommands(program: Command): void {
  const authn = program.command('authn').description('authn-server: the registry token endpoint');
  authn
    .command('serve')
    .description('run the authn-server (Docker Registry v2 token protocol)')
    .option('--listen <host:port>', `listen address (env TOLLGATE_AUTHN_LISTEN, default ${DEFAULTS.listen})`)
    .option('--authz-url <url>', `authz-server base URL (env TOLLGATE_AUTHN_AUTHZ_URL, default ${DEFAULTS.authzUrl})`)
    .option('--authz-token-file <file>', 'client token for /authorized (env TOLLGATE_AUTHN_AUTHZ_TOKEN_FILE, or the token in TOLLGATE_AUTHN_AUTHZ_TOKEN)')
    .option('--metrics-token-file <file>', 'bearer token /metrics requires (env TOLLGATE_AUTHN_METRICS_TOKEN_FILE, or the token in TOLLGATE_AUTHN_METRICS_TOKEN; default: /metrics is open)')
    .option('--issuer <name>', `token issuer = registry auth.token.issuer (env TOLLGATE_AUTHN_ISSUER, default ${DEFAULTS.issuer})`)
    .option('--service <name>', `allowed service = registry auth.token.service, repeatable (env TOLLGATE_AUTHN_SERVICE, comma-separated, default ${DEFAULTS.service})`, collect)
    .option('--key <file>', 'PEM private key that signs tokens, EC P-256 or RSA >= 2048 (env TOLLGATE_AUTHN_KEY)')
    .option('--cert <file>', 'PEM certificate chain of --key, sent as x5c (env TOLLGATE_AUTHN_CERT)')
    .option('--extra-cert <file>', 'older/newer certificate published in the JWKS, repeatable (env TOLLGATE_AUTHN_EXTRA_CERT, comma-separated)', collect)
    .option('--kid-format <format>', `libtrust (registry 2.8) or thumbprint (RFC 7638, registry 3.x) (env TOLLGATE_AUTHN_KID_FORMAT, default ${DEFAULTS.kidFormat})`)
    .option('--no-x5c', 'leave the x5c header out (registry 3.x configured with a jwks file) (env TOLLGATE_AUTHN_NO_X5C=true)')
    .option('--users <file>', 'users YAML file (env TOLLGATE_AUTHN_USERS)')
    .option('--htpasswd <file>', 'htpasswd file with bcrypt lines (env TOLLGATE_AUTHN_HTPASSWD)')
    .option('--oidc-issuers <file>', 'issuers YAML: JWTs (Kubernetes service-account tokens, OIDC) as passwords (env TOLLGATE_AUTHN_OIDC_ISSUERS)')
    .option('--token-ttl <duration>', `access token lifetime, 60s..24h (env TOLLGATE_AUTHN_TOKEN_TTL, default ${DEFAULTS.tokenTtl})`)
    .option('--refresh-ttl <duration>', `refresh token lifetime (env TOLLGATE_AUTHN_REFRESH_TTL, default ${DEFAULTS.refreshTtl})`)
    .option('--trust-proxy <cidrs>', 'comma-separated proxies whose X-Forwarded-For is believed (env TOLLGATE_AUTHN_TRUST_PROXY)')
    .option('--anonymous', 'let requests without credentials ask authz as account "" (env TOLLGATE_AUTHN_ANONYMOUS=true)')
    .option('--decision-cache-ttl <duration>', `longest life of a cached decision or robot login, kept current by authz's change feed; 0 = always ask authz (env TOLLGATE_AUTHN_DECISION_CACHE_TTL, default ${DEFAULTS.decisionCacheTtl}, max 1h)`)
    .option('--no-change-feed', 'do not follow authz\'s change feed: no decision or robot caching (env TOLLGATE_AUTHN_CHANGE_FEED=false)')
    .option('--realm <name>', `realm in the WWW-Authenticate Basic challenge (env TOLLGATE_AUTHN_REALM, default ${DEFAULTS.realm})`)
    .option('--k8s-secrets', 'namespace credentials from Kubernetes Secrets, rauth-compatible (env TOLLGATE_AUTHN_K8S_SECRETS=true)')
    .option('--k8s-secret-name <name>', `Secret holding each namespace's credential (env TOLLGATE_AUTHN_K8S_SECRET_NAME, default ${DEFAULTS.k8sSecretName}; rauth: devbox-registry)`)
    .option('--k8s-secret-registry-host <host>', 'auths entry read from a .dockerconfigjson Secret (env TOLLGATE_AUTHN_K8S_SECRET_REGISTRY_HOST)')
    .option('--k8s-account-prefix <prefix>', `account = prefix + namespace, must contain ":" (env TOLLGATE_AUTHN_K8S_ACCOUNT_PREFIX, default ${DEFAULTS.k8sAccountPrefix})`)
    .option('--k8s-secrets-mode <mode>', `watch (one list + watch) or get (GET per namespace, cached) (env TOLLGATE_AUTHN_K8S_SECRETS_MODE, default ${DEFAULTS.k8sSecretsMode})`)
    .option('--k8s-api-url <url>', 'Kubernetes API URL; default in-cluster (env TOLLGATE_AUTHN_K8S_API_URL; http only to loopback)')
    .option('--k8s-token-file <file>', 'bearer token file for the API, re-read per request (env TOLLGATE_AUTHN_K8S_TOKEN_FILE; in-cluster default the service-account token)')
    .option('--k8s-ca-file <file>', 'CA bundle of the API (env TOLLGATE_AUTHN_K8S_CA_FILE; in-cluster default the service-account ca.crt)')
    .option('--k8s-stale-after <duration>', `fail closed (503) when the Secret table has not been confirmed (list, event, or a watch run to its timeoutSeconds = half of this) for this long, 5s..10m (env TOLLGATE_AUTHN_K8S_STALE_AFTER, default ${DEFAULTS.k8sStaleAfter})`)
    .option('--bcrypt-workers <n>', 'threads that check passwords off the event loop (env TOLLGATE_AUTHN_BCRYPT_WORKERS, default cores - 1, at least 1)')
    .option('--bcrypt-queue <n>', 'uncached password checks allowed to wait; more get 503 + Retry-After (env TOLLGATE_AUTHN_BCRYPT_QUEUE, default 16 per thread)')
    .option('--uncached-per-ip <n>', `uncached password checks per client IP per minute, after a burst of 10; more get 429 (env TOLLGATE_AUTHN_UNCACHED_PER_IP, default ${DEFAULTS.uncachedPerIp})`)
    .option('--account-failures-per-hour <n>', `failed logins per account per hour from addresses that never logged in as it, after a burst of 10; more get 429 (env TOLLGATE_AUTHN_ACCOUNT_FAILURES_PER_HOUR, default ${DEFAULTS.accountFailuresPerHour})`)
    .option('--log-level <level>', 'fatal|error|warn|info|debug|trace|silent (env TOLLGATE_AUTHN_LOG_LEVEL or TOLLGATE_LOG_LEVEL, default info)')
    .action(async (opts: Record<string, unknown>) => {
      // Loaded lazily so the admin commands do not pull in express.
      const { serve } = await import('../main.js');
      await serve(opts);
    });
  registerKeysCommands(program);
  registerCredentialCommands(program);
}
