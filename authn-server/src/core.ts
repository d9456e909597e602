/**
 * The parts of authn every front end shares, built once from the config: signing keys, the credential
 * chain (with its caches and the bcrypt pool), the failed-login throttle, the authz client and the
 * decision path. `authn serve` (main.ts) and `tollgate proxy` (proxy/) both call this, so a revocation
 * reaches the proxy exactly as fast as it reaches the token endpoint.
 */
import type { Logger } from '../../common/logger.js';
import { withDecisionCache } from './authz-client/cache.js';
import { createAuthzClient, type AuthzClient } from './authz-client/index.js';
import type { Config } from './config.js';
import { createCredentials, type CredentialBackend, type Credentials } from './credentials/index.js';
import { lazyBackend } from './credentials/lazy-backend.js';
import { ROBOT_PREFIX } from './credentials/robot-prefix.js';
import { loadKeys, type KeySet } from './keys/load.js';
import { createMetrics, type Metrics } from './metrics/index.js';
import { createLoginThrottle, type Throttle } from './throttle/index.js';
import { decide as decideWith, type Decision, type GrantInput } from './token/grant.js';

export interface AuthnCore {
  keys: KeySet;
  credentials: Credentials;
  throttle: Throttle;
  /** The raw keep-alive client of `/authorized` (app.ts puts its own decision cache in front). */
  authz: AuthzClient;
  metrics: Metrics;
  /** authn's decision path: one `/authorized` per scope behind the `--decision-cache-ttl` cache; fails closed (503). */
  decide(input: GrantInput): Promise<Decision>;
  close(): void;
}

export async function createAuthnCore(cfg: Config, logger: Logger, metrics: Metrics = createMetrics()): Promise<AuthnCore> {
  const keys = await loadKeys({ keyFile: cfg.key, certFile: cfg.cert, extraCertFiles: cfg.extraCerts, kidFormat: cfg.kidFormat, x5c: cfg.x5c });
  if (!cfg.authzToken) logger.warn('no authz client token set (--authz-token-file / TOLLGATE_AUTHN_AUTHZ_TOKEN): /authorized calls carry no Authorization header');
  const credentials = await createCredentials({
    extra: await extraBackends(cfg, logger, metrics),
    ...(cfg.users ? { usersFile: cfg.users } : {}),
    ...(cfg.htpasswd ? { htpasswdFile: cfg.htpasswd } : {}),
    ...(cfg.oidcIssuers
      ? {
          oidc: {
            path: cfg.oidcIssuers,
            onLogin: (issuer: string, result: string) => metrics.oidcLogins.inc({ issuer, result }),
            onKeyFetch: (issuer: string, ok: boolean) => metrics.oidcKeyFetches.inc({ issuer, outcome: ok ? 'ok' : 'error' }),
          },
        }
      : {}),
    logger,
    hashPool: { ...(cfg.bcryptWorkers ? { workers: cfg.bcryptWorkers } : {}), ...(cfg.bcryptQueue !== undefined ? { maxQueue: cfg.bcryptQueue } : {}) },
    hashBudget: { perMinute: cfg.uncachedPerIp },
    onCache: (hit) => metrics.credentialCache.inc({ result: hit ? 'hit' : 'miss' }),
    onReload: (backend, ok) => metrics.credentialReloads.inc({ backend, result: ok ? 'ok' : 'rejected' }),
  });
  const authz = createAuthzClient({
    url: cfg.authzUrl,
    token: cfg.authzToken,
    observe: (secs, outcome) => {
      metrics.authzCalls.observe({ outcome }, secs);
      if (outcome === 'error') metrics.authzErrors.inc();
    },
  });
  const cached = withDecisionCache(authz, { ttlMs: cfg.decisionCacheTtlMs, onHit: () => metrics.decisionCacheHits.inc() });
  return {
    keys,
    credentials,
    throttle: createLoginThrottle(),
    authz,
    metrics,
    decide: (input) => decideWith(cached, input),
    close() {
      credentials.close();
      authz.close();
    },
  };
}

async function extraBackends(cfg: Config, logger: Logger, metrics: Metrics): Promise<CredentialBackend[]> {
  // Robots are always on: only `robot:` user names reach authz, which keeps them. Their code (and that of the
  // Kubernetes Secrets and issuers backends, credentials/index.ts) loads only when used: idle RSS (docs/authn.md "Memory").
  const robots = lazyBackend('robots', (user) => user.startsWith(ROBOT_PREFIX), async () => {
    const { createRobotsBackend } = await import('./credentials/robots-backend.js');
    return createRobotsBackend({ authzUrl: cfg.authzUrl, token: cfg.authzToken });
  });
  const extra: CredentialBackend[] = [robots];
  if (cfg.k8sSecrets) {
    const [{ resolveConnection }, { createK8sSecretsBackend }] = await Promise.all([import('./credentials/k8s-secrets/connection.js'), import('./credentials/k8s-secrets/index.js')]);
    extra.push(
      createK8sSecretsBackend({
        conn: resolveConnection({ apiUrl: cfg.k8sApiUrl, tokenFile: cfg.k8sTokenFile, caFile: cfg.k8sCaFile }),
        secretName: cfg.k8sSecretName,
        registryHost: cfg.k8sSecretRegistryHost,
        accountPrefix: cfg.k8sAccountPrefix,
        mode: cfg.k8sSecretsMode,
        logger,
        registry: metrics.registry,
        informer: { staleAfterMs: cfg.k8sStaleAfterSec * 1000 },
      }),
    );
  }
  return extra;
}
