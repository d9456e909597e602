/**
 * `tollgate authn serve`: reads flags/env, loads keys and credentials, listens, logs one
 * `listening` line, and shuts down cleanly on SIGTERM/SIGINT.
 */
import type { Server } from 'node:http';
import { createLogger, type Logger } from '../../common/logger.js';
import { listen, serveUntilSignal } from '../../common/serve.js';
import { createApp } from './app.js';
import { ChangeFeed } from './authz-client/feed.js';
import { createAuthzClient } from './authz-client/index.js';
import { loadConfig, type ServeFlags } from './config.js';
import { createCredentials, type CredentialBackend } from './credentials/index.js';
import { lazyBackend } from './credentials/lazy-backend.js';
import { ROBOT_PREFIX } from './credentials/robot-prefix.js';
import { loadKeys } from './keys/load.js';
import { createMetrics } from './metrics/index.js';
import { createLoginThrottle } from './throttle/index.js';

export interface Running {
  server: Server;
  url: string;
  close(): Promise<void>;
}

/** Starts the server; resolves once it listens. Exported for in-process use (stack runner, tests). */
export async function startServer(flags: ServeFlags, log?: Logger): Promise<Running> {
  const cfg = loadConfig(flags);
  const logger = log ?? createLogger({ name: 'authn', level: cfg.logLevel });
  const keys = await loadKeys({ keyFile: cfg.key, certFile: cfg.cert, extraCertFiles: cfg.extraCerts, kidFormat: cfg.kidFormat, x5c: cfg.x5c });
  if (!cfg.authzToken) logger.warn('no authz client token set (--authz-token-file / TOLLGATE_AUTHN_AUTHZ_TOKEN): /authorized calls carry no Authorization header');
  const metrics = createMetrics();
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
  // Robots are always on: only `robot:` user names reach authz, which keeps them. Their code (and that of the
  // Kubernetes Secrets and issuers backends, credentials/index.ts) loads only when used: idle RSS (docs/authn.md "Memory").
  const robots = lazyBackend('robots', (user) => user.startsWith(ROBOT_PREFIX), async () => {
    const { createRobotsBackend } = await import('./credentials/robots-backend.js');
    return createRobotsBackend({ client: authz, feed, cacheTtlMs: cfg.decisionCacheTtlMs, onLookup: (result) => metrics.cacheLookups.inc({ cache: 'robot', result }) });
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
  const credentials = await createCredentials({
    extra,
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
  const app = createApp({
    credentials,
    throttle: createLoginThrottle(),
    keys,
    authz,
    logger,
    metrics,
    issuer: cfg.issuer,
    services: cfg.services,
    tokenTtlSec: cfg.tokenTtlSec,
    refreshTtlSec: cfg.refreshTtlSec,
    anonymous: cfg.anonymous,
    realm: cfg.realm,
    ...(cfg.trustProxy ? { trustProxy: cfg.trustProxy } : {}),
    decisionCacheTtlMs: cfg.decisionCacheTtlMs,
    feed,
    ...(cfg.metricsToken ? { metricsToken: cfg.metricsToken } : {}),
  });
  const cleanup = () => {
    feed?.stop();
    credentials.close();
    authz.close();
  };
  const fields = { issuer: cfg.issuer, services: cfg.services, kid: keys.signing.kid, alg: keys.signing.alg, authz: cfg.authzUrl, anonymous: cfg.anonymous };
  const { server, url, close } = await listen(app, cfg.listen, { logger, fields, cleanup });
  return { server, url, close };
}

/** CLI entry: start, wire signals, exit non-zero with a clear message on bad config. */
export function serve(flags: ServeFlags): Promise<void> {
  return serveUntilSignal('tollgate authn serve', 'authn-server', () => startServer(flags));
}
