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
import { credentialsFromConfig, type Credentials } from './credentials/chain.js';
import { loadKeys, type KeySet } from './keys/load.js';
import { createMetrics, type Metrics } from './metrics/index.js';
import { createAccountGuard, type AccountGuard } from './throttle/account-guard.js';
import { createLoginThrottle, type Throttle } from './throttle/index.js';
import { decide as decideWith, type Decision, type GrantInput } from './token/grant.js';

export interface AuthnCore {
  keys: KeySet;
  credentials: Credentials;
  throttle: Throttle;
  /** The per-account failure limit across all addresses (throttle/account-guard.ts). */
  accountGuard: AccountGuard;
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
  const credentials = await credentialsFromConfig(cfg, logger, metrics);
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
    accountGuard: createAccountGuard({ perHour: cfg.accountFailuresPerHour }),
    authz,
    metrics,
    decide: (input) => decideWith(cached, input),
    close() {
      credentials.close();
      authz.close();
    },
  };
}
