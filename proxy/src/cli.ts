import type { Command } from 'commander';
import { DEFAULTS as AUTHN_DEFAULTS } from '../../authn-server/src/config.js';
import { PROXY_DEFAULTS } from './config.js';

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

/**
 * Registers `tollgate proxy`. authn's settings (keys, credential sources, authz, caches) are the
 * same flags and TOLLGATE_AUTHN_* variables as `authn serve`; only the common ones are listed here,
 * the rest are accepted as in `authn serve --help`.
 */
export function registerProxyCommand(program: Command): void {
  const cmd = program
    .command('proxy')
    .description('registry auth proxy: one endpoint in front of a registry (token mode: Basic in, tollgate tokens upstream; plain mode: tollgate tokens checked here)')
    .option('--upstream <url>', 'registry origin the proxy guards (env TOLLGATE_PROXY_UPSTREAM)')
    .option('--mode <mode>', `token (upstream has tollgate token auth) or plain (no auth / static creds) (env TOLLGATE_PROXY_MODE, default ${PROXY_DEFAULTS.mode})`)
    .option('--upstream-auth-file <file>', 'plain mode: "user:password" the proxy adds upstream, never shown to clients (env TOLLGATE_PROXY_UPSTREAM_AUTH_FILE)')
    .option('--token-realm <url>', 'plain mode: authn\'s token URL (…/auth) named in the Bearer challenge (env TOLLGATE_PROXY_TOKEN_REALM)')
    .option('--upstream-timeout <duration>', `connect/answer/idle bound for the upstream, 1s..600s (env TOLLGATE_PROXY_UPSTREAM_TIMEOUT, default ${PROXY_DEFAULTS.upstreamTimeout})`)
    .option('--tls-cert <file>', 'serve HTTPS with this PEM certificate chain (env TOLLGATE_PROXY_TLS_CERT)')
    .option('--tls-key <file>', 'PEM key of --tls-cert (env TOLLGATE_PROXY_TLS_KEY)')
    .option('--listen <host:port>', `listen address (env TOLLGATE_PROXY_LISTEN, default ${PROXY_DEFAULTS.listen})`);
  // authn's settings, same names and variables as `authn serve`.
  cmd
    .option('--authz-url <url>', 'authz-server base URL (env TOLLGATE_AUTHN_AUTHZ_URL)')
    .option('--authz-token-file <file>', 'client token for /authorized (env TOLLGATE_AUTHN_AUTHZ_TOKEN_FILE / TOLLGATE_AUTHN_AUTHZ_TOKEN)')
    .option('--issuer <name>', 'token issuer (env TOLLGATE_AUTHN_ISSUER)')
    .option('--service <name>', 'the one service = registry auth.token.service (env TOLLGATE_AUTHN_SERVICE)', collect)
    .option('--key <file>', 'authn\'s PEM signing key (env TOLLGATE_AUTHN_KEY)')
    .option('--cert <file>', 'certificate chain of --key (env TOLLGATE_AUTHN_CERT)')
    .option('--extra-cert <file>', 'more published certificates (rotation), repeatable (env TOLLGATE_AUTHN_EXTRA_CERT)', collect)
    .option('--kid-format <format>', 'libtrust or thumbprint (env TOLLGATE_AUTHN_KID_FORMAT)')
    .option('--no-x5c', 'leave x5c out of upstream tokens (env TOLLGATE_AUTHN_NO_X5C=true)')
    .option('--users <file>', 'users YAML (env TOLLGATE_AUTHN_USERS)')
    .option('--htpasswd <file>', 'htpasswd with bcrypt lines (env TOLLGATE_AUTHN_HTPASSWD)')
    .option('--oidc-issuers <file>', 'issuers YAML (env TOLLGATE_AUTHN_OIDC_ISSUERS)')
    .option('--token-ttl <duration>', 'lifetime of upstream tokens (env TOLLGATE_AUTHN_TOKEN_TTL)')
    .option('--trust-proxy <cidrs>', 'proxies whose X-Forwarded-For is believed (env TOLLGATE_AUTHN_TRUST_PROXY)')
    .option('--anonymous', 'requests without credentials ask authz as account "" (env TOLLGATE_AUTHN_ANONYMOUS=true)')
    .option('--decision-cache-ttl <duration>', `longest life of a cached decision or robot login, kept current by authz's change feed; 0 = always ask authz (env TOLLGATE_AUTHN_DECISION_CACHE_TTL, default ${AUTHN_DEFAULTS.decisionCacheTtl}, max 1h)`)
    .option('--realm <name>', 'realm of the Basic challenge in token mode (env TOLLGATE_AUTHN_REALM)')
    .option('--k8s-secrets', 'namespace credentials from Kubernetes Secrets (env TOLLGATE_AUTHN_K8S_SECRETS=true)')
    .option('--bcrypt-workers <n>', 'bcrypt threads (env TOLLGATE_AUTHN_BCRYPT_WORKERS)')
    .option('--uncached-per-ip <n>', 'uncached password checks per IP per minute (env TOLLGATE_AUTHN_UNCACHED_PER_IP)')
    .option('--metrics-token-file <file>', 'bearer token /metrics requires, as at authn (env TOLLGATE_AUTHN_METRICS_TOKEN_FILE / TOLLGATE_AUTHN_METRICS_TOKEN; default: /metrics is open)')
    .option('--log-level <level>', 'fatal|error|warn|info|debug|trace|silent (env TOLLGATE_AUTHN_LOG_LEVEL or TOLLGATE_LOG_LEVEL)')
    .action(async (opts: Record<string, unknown>) => {
      const { serve } = await import('./main.js');
      await serve(opts);
    });
}
