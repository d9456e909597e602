/**
 * `createApp(deps)`: the HTTP surface of authn-server with everything injected (credentials,
 * throttle, keys, authz client, clock, logger, metrics), so tests drive it with supertest.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import express from 'express';
import type { Logger } from '../../common/logger.js';
import { DEFAULT_DECISION_CACHE_TTL_MS, withDecisionCache } from './authz-client/cache.js';
import type { ChangeFeed } from './authz-client/feed.js';
import type { AuthzClient } from './authz-client/index.js';
import type { LoginThrottle } from './credentials/backend.js';
import type { Credentials } from './credentials/chain.js';
import { errorMiddleware, notFound } from './errors.js';
import { toJwks, type KeySet } from './keys/load.js';
import { children } from '../../common/http-metrics.js';
import { createMetrics, type Metrics } from './metrics/index.js';
import { clientIpResolver } from './request/client-ip.js';
import { healthRoutes } from './routes/health.js';
import { tokenRoutes } from './routes/token.js';
import { withFastTokenGet } from './routes/token-fast.js';
import type { AccountGuard } from './throttle/account-guard.js';
import { PairQueue } from './throttle/pair-queue.js';
import { createTokenIssuer } from './token/issuer.js';
import type { BlockList } from 'node:net';

export interface AppDeps {
  credentials: Credentials;
  throttle: LoginThrottle;
  /** Per-account failure limit across addresses (throttle/account-guard.ts); none → only the per-pair throttle. */
  accountGuard?: AccountGuard;
  keys: KeySet;
  authz: AuthzClient;
  logger: Logger;
  issuer?: string;
  services?: string[];
  tokenTtlSec?: number;
  refreshTtlSec?: number;
  anonymous?: boolean;
  realm?: string;
  trustProxy?: BlockList;
  /** Longest life of a cached decision (default 60 s); caching happens only while `feed` is trusted. */
  decisionCacheTtlMs?: number;
  /** authz's change feed (main.ts starts it); without one, every decision asks authz. */
  feed?: ChangeFeed | undefined;
  /** When set, `/metrics` requires `Authorization: Bearer <metricsToken>`. */
  metricsToken?: string;
  clock?: () => Date;
  metrics?: Metrics;
}

const APP_DEFAULTS = { issuer: 'tollgate', service: 'tollgate-registry', tokenTtlSec: 300, refreshTtlSec: 30 * 86400, realm: 'tollgate' } as const;

/**
 * The request listener (for `http.createServer` and supertest). `GET` on the exact token paths goes
 * straight to the token handler (routes/token-fast.ts says why); everything else goes through `express`.
 */
export type AuthnApp = ((req: IncomingMessage, res: ServerResponse) => void) & { express: express.Express };

/** At most one warning per 10 minutes: the header comes with every request of a misconfigured deployment. */
const FORWARDED_WARNING_INTERVAL_MS = 10 * 60_000;

function ignoredForwardedWarning(logger: Logger, now: () => number): (peer: string) => void {
  let last = -Infinity;
  let ignored = 0;
  return (peer) => {
    ignored++;
    const t = now();
    if (t - last < FORWARDED_WARNING_INTERVAL_MS) return;
    last = t;
    logger.warn(
      { peer, ignored },
      'X-Forwarded-For from a peer not in --trust-proxy is ignored: if authn runs behind a proxy, every client counts as the proxy for the failed-login throttle (one attacker locks everyone out) — set --trust-proxy to the proxy addresses',
    );
    ignored = 0;
  };
}

export function createApp(deps: AppDeps): AuthnApp {
  const now = deps.clock ? () => deps.clock!().getTime() : Date.now;
  const metrics = deps.metrics ?? createMetrics(false);
  const realm = deps.realm ?? APP_DEFAULTS.realm;
  const lookups = children((result) => metrics.cacheLookups.labels('decision', result));
  const authz = withDecisionCache(deps.authz, {
    ttlMs: deps.decisionCacheTtlMs ?? DEFAULT_DECISION_CACHE_TTL_MS,
    feed: deps.feed,
    onLookup: (result) => {
      lookups(result).inc();
      if (result === 'hit') metrics.decisionCacheHits.inc();
    },
  });
  const issuer = createTokenIssuer({
    keys: deps.keys,
    issuer: deps.issuer ?? APP_DEFAULTS.issuer,
    tokenTtlSec: deps.tokenTtlSec ?? APP_DEFAULTS.tokenTtlSec,
    refreshTtlSec: deps.refreshTtlSec ?? APP_DEFAULTS.refreshTtlSec,
    ...(deps.clock ? { clock: deps.clock } : {}),
  });
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', false);
  app.use(metrics.middleware);
  // No per-request access log: token requests get one audit line each (routes/token.ts), errors are
  // logged by the error middleware, and probes need none — pino-http cost ~10% of the token path.
  const tokens = tokenRoutes({
    credentials: deps.credentials,
    throttle: deps.throttle,
    ...(deps.accountGuard ? { accountGuard: deps.accountGuard } : {}),
    loginQueue: new PairQueue(),
    issuer,
    anonymous: deps.anonymous === true,
    logger: deps.logger,
    authz,
    services: deps.services?.length ? deps.services : [APP_DEFAULTS.service],
    realm,
    clientIp: clientIpResolver(deps.trustProxy, ignoredForwardedWarning(deps.logger, now)),
    metrics,
  });
  app.use(tokens);
  app.use(healthRoutes({ authz: deps.authz, metrics, jwks: toJwks(deps.keys), keysLoaded: true, logger: deps.logger, now, backends: deps.credentials.backends, ...(deps.metricsToken ? { metricsToken: deps.metricsToken } : {}) }));
  app.use(notFound);
  const onError = errorMiddleware(deps.logger, realm);
  app.use(onError);

  const listener = withFastTokenGet({ direct: tokens.direct, timeRequest: metrics.timeRequest, onError }, app);
  return Object.assign(listener, { express: app });
}
