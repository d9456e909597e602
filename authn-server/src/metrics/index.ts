/** Prometheus metrics on a per-app registry (tests build many apps). Labels stay low-cardinality. */
import type { ServerResponse } from 'node:http';
import type { RequestHandler } from 'express';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { finishTimer } from '../../../common/http-metrics.js';

export interface Metrics {
  registry: Registry;
  tokensIssued: Counter<'grant'>;
  tokenRequestsDenied: Counter<'reason'>;
  scopesDenied: Counter;
  authzCalls: Histogram<'outcome'>;
  authzErrors: Counter;
  decisionCacheHits: Counter;
  /** Decision and robot-login cache lookups: hit, miss, or untrusted (feed not live: authz asked). */
  cacheLookups: Counter<'cache' | 'result'>;
  feedResets: Counter<'reason'>;
  /** Set by main.ts once the feed exists: state and seconds since its last message. */
  watchFeed(feed: { state: string; silenceMs(): number }): void;
  credentialCache: Counter<'result'>;
  oidcLogins: Counter<'issuer' | 'result'>;
  oidcKeyFetches: Counter<'issuer' | 'outcome'>;
  credentialReloads: Counter<'backend' | 'result'>;
  middleware: RequestHandler;
  /** Times one request outside express (app.ts's token fast path) under the given route label. */
  timeRequest(method: string, route: string, res: ServerResponse): void;
}

const BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

export function createMetrics(defaults = true): Metrics {
  const registry = new Registry();
  if (defaults) collectDefaultMetrics({ register: registry, prefix: 'tollgate_authn_' });
  const registers = [registry];
  const duration = new Histogram({
    name: 'tollgate_authn_http_request_duration_seconds',
    help: 'HTTP request duration by route pattern and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: BUCKETS,
    registers,
  });
  const timeUntilFinish = finishTimer(duration);
  const metrics: Metrics = {
    registry,
    tokensIssued: new Counter({ name: 'tollgate_authn_tokens_issued_total', help: 'Tokens issued, by grant (basic, anonymous, password, refresh_token)', labelNames: ['grant'] as const, registers }),
    tokenRequestsDenied: new Counter({ name: 'tollgate_authn_token_requests_denied_total', help: 'Token requests answered with an error, by error code', labelNames: ['reason'] as const, registers }),
    scopesDenied: new Counter({ name: 'tollgate_authn_scopes_denied_total', help: 'Requested scopes granted less than asked (partially or not at all)', registers }),
    authzCalls: new Histogram({ name: 'tollgate_authn_authz_call_duration_seconds', help: 'Duration of calls to authz-server /authorized', labelNames: ['outcome'] as const, buckets: BUCKETS, registers }),
    authzErrors: new Counter({ name: 'tollgate_authn_authz_errors_total', help: 'Calls to /authorized that failed (timeout, connection, unexpected status)', registers }),
    decisionCacheHits: new Counter({ name: 'tollgate_authn_decision_cache_hits_total', help: 'Decisions answered from the decision cache', registers }),
    cacheLookups: new Counter({
      name: 'tollgate_authn_cache_lookups_total',
      help: 'Lookups in the caches kept by the change feed (cache: decision, robot) by result: hit, miss, or untrusted (feed not live: authz asked)',
      labelNames: ['cache', 'result'] as const,
      registers,
    }),
    feedResets: new Counter({ name: 'tollgate_authn_change_feed_resets_total', help: 'Times every cache was dropped because of the change feed, by reason', labelNames: ['reason'] as const, registers }),
    watchFeed(feed) {
      new Gauge({
        name: 'tollgate_authn_change_feed_state',
        help: 'State of the change feed from authz (1 for the current state: live, connecting, down, unsupported, stopped)',
        labelNames: ['state'] as const,
        registers,
        collect() {
          this.reset();
          this.set({ state: feed.state }, 1);
        },
      });
      new Gauge({
        name: 'tollgate_authn_change_feed_lag_seconds',
        help: 'Seconds since the last change-feed message (caches are trusted while it is under 0.75)',
        registers,
        collect() {
          const s = feed.silenceMs() / 1000;
          this.set(Number.isFinite(s) ? s : -1);
        },
      });
    },
    credentialCache: new Counter({ name: 'tollgate_authn_credential_cache_total', help: 'Password checks answered from the bcrypt verification cache (hit) or by bcrypt (miss)', labelNames: ['result'] as const, registers }),
    oidcLogins: new Counter({ name: 'tollgate_authn_oidc_logins_total', help: 'JWT logins by issuer and result: ok, cached (verification cache hit), unavailable (no keys: 503) or the refusal reason', labelNames: ['issuer', 'result'] as const, registers }),
    oidcKeyFetches: new Counter({ name: 'tollgate_authn_oidc_key_fetches_total', help: 'Fetches of an issuer\'s keys (discovery + JWKS, or the JWKS file), by outcome', labelNames: ['issuer', 'outcome'] as const, registers }),
    credentialReloads: new Counter({ name: 'tollgate_authn_credential_reloads_total', help: 'Reloads of a credential file (users, htpasswd, issuers) by result: ok, or rejected (the previous content keeps serving)', labelNames: ['backend', 'result'] as const, registers }),
    // The route label is read when the response finishes: express sets req.route while routing.
    middleware: (req, res, next) => {
      timeUntilFinish(res, () => ({ method: req.method, route: String((req.route as { path?: string } | undefined)?.path ?? 'unmatched') }));
      next();
    },
    timeRequest(method, route, res) {
      timeUntilFinish(res, () => ({ method, route }));
    },
  };
  return metrics;
}
