/**
 * The parts of authn every front end shares, built once from the config: signing keys, the credential
 * chain (with its caches and the bcrypt pool), the failed-login throttle, the authz client and the
 * decision path, and the change feed every cache follows. `authn serve` (main.ts) and `tollgate proxy`
 * (proxy/) both call this, so a revocation reaches the proxy exactly as fast as it reaches the token endpoint.
 */
import type { Logger } from '../../common/logger.js';
import { withDecisionCache } from './authz-client/cache.js';
import { ChangeFeed } from './authz-client/feed.js';
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
  /** authz's change feed, which every cache follows; undefined when caching is off (then every request asks authz). */
  feed: ChangeFeed | undefined;
  metrics: Metrics;
  /** authn's decision path: one `/authorized` per scope behind the `--decision-cache-ttl` cache; fails closed (503). */
  decide(input: GrantInput): Promise<Decision>;
  close(): void;
}

export async function createAuthnCore(cfg: Config, logger: Logger, metrics: Metrics = createMetrics()): Promise<AuthnCore> {
  const keys = await loadKeys({ keyFile: cfg.key, certFile: cfg.cert, extraCertFiles: cfg.extraCerts, kidFormat: cfg.kidFormat, x5c: cfg.x5c });
  if (!cfg.authzToken) logger.warn('no authz client token set (--authz-token-file / TOLLGATE_AUTHN_AUTHZ_TOKEN): /authorized calls carry no Authorization header');
  const authz = createAuthzClient({
    url: cfg.authzUrl,
    token: cfg.authzToken,
    observe: (secs, outcome) => {
      metrics.authzCalls.observe({ outcome }, secs);
      if (outcome === 'error') metrics.authzErrors.inc();
    },
  });
  // Caches (decisions, robot logins) are kept current by authz's change feed; without it nothing is cached.
  const feed = cfg.changeFeed && cfg.decisionCacheTtlMs > 0 ? new ChangeFeed({ url: cfg.authzUrl, token: cfg.authzToken, logger, onReset: (reason) => metrics.feedResets.inc({ reason }) }) : undefined;
  if (feed) {
    metrics.watchFeed(feed);
    feed.start();
  } else logger.info({ change_feed: cfg.changeFeed, decision_cache_ttl_ms: cfg.decisionCacheTtlMs }, 'decision and robot caching off: every token request asks authz');
  let credentials: Credentials;
  try {
    credentials = await credentialsFromConfig(cfg, logger, metrics, { client: authz, feed });
  } catch (e) {
    feed?.stop();
    authz.close();
    throw e;
  }
  // Built on first use: `authn serve` decides through app.ts's cache and never calls `decide`; the proxy does.
  let cached: AuthzClient | undefined;
  const decisions = (): AuthzClient =>
    (cached ??= withDecisionCache(authz, {
      ttlMs: cfg.decisionCacheTtlMs,
      feed,
      onLookup: (result) => {
        metrics.cacheLookups.inc({ cache: 'decision', result });
        if (result === 'hit') metrics.decisionCacheHits.inc();
      },
    }));
  return {
    keys,
    credentials,
    throttle: createLoginThrottle(),
    accountGuard: createAccountGuard({ perHour: cfg.accountFailuresPerHour }),
    authz,
    feed,
    metrics,
    decide: (input) => decideWith(decisions(), input),
    close() {
      feed?.stop();
      credentials.close();
      authz.close();
    },
  };
}
