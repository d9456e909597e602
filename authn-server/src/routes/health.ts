/**
 * `/healthz` (process up), `/readyz` (keys loaded, authz-server answering and accepting our client
 * token, every credential backend ready; 503 otherwise), `/metrics` (Prometheus), `/.well-known/jwks.json` (published keys, for
 * registry 3.x `jwks`).
 *
 * Readiness asks authz the way a token request does — a `/authorized` call with our client token,
 * for no actions (authz answers 403 `{"allowed":false,"actions":[]}`) — because authz answering its
 * `/healthz` says nothing about whether it takes our token: with a wrong token every scoped request
 * would get 503 while the pod looked ready. A refused token is logged with authz's reason (at most
 * once a minute while it lasts). `/metrics` needs `Authorization: Bearer <token>` when a metrics token
 * is configured (the counters tell who logs in how often and what gets refused), compared in constant time.
 */
import { Router } from 'express';
import type { JWK } from 'jose';
import type { Logger } from '../../../common/logger.js';
import { safeEqual } from '../../../common/secret.js';
import { AuthzUnavailable, type AuthzClient } from '../authz-client/index.js';
import type { CredentialBackend } from '../credentials/backend.js';
import type { Metrics } from '../metrics/index.js';

export interface HealthDeps {
  /** The client itself, not the decision cache: a cached answer would hide a token change. */
  authz: AuthzClient;
  metrics: Metrics;
  jwks: { keys: JWK[] };
  keysLoaded: boolean;
  logger: Logger;
  now?: () => number;
  /** Backends that can be not ready (Kubernetes Secrets before the first list); each becomes a check. */
  backends?: readonly CredentialBackend[];
  metricsToken?: string;
}

const PROBE = { Account: '', Type: 'repository', Name: '', Service: '', IP: '', Actions: [], Labels: null };
const LOG_EVERY_MS = 60_000;

export function healthRoutes(deps: HealthDeps): Router {
  const r = Router();
  const now = deps.now ?? Date.now;
  let lastLogged = -Infinity;
  async function authzCheck(): Promise<{ authz: boolean; authz_token: boolean }> {
    try {
      await deps.authz.authorize(PROBE);
      lastLogged = -Infinity;
      return { authz: true, authz_token: true };
    } catch (e) {
      const refused = e instanceof AuthzUnavailable && e.status === 401;
      if (refused && now() - lastLogged >= LOG_EVERY_MS) {
        lastLogged = now();
        deps.logger.error({ cause: e.message }, 'not ready: authz-server refuses our client token');
      }
      return { authz: refused, authz_token: false };
    }
  }
  r.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  r.get('/readyz', async (_req, res) => {
    const checks: Record<string, boolean> = { keys: deps.keysLoaded, ...(await authzCheck()) };
    for (const b of deps.backends ?? []) if (b.ready) checks[b.name] = b.ready();
    const ready = Object.values(checks).every(Boolean);
    res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'not ready', checks });
  });
  r.get('/metrics', async (req, res) => {
    if (deps.metricsToken !== undefined) {
      const got = /^Bearer +(\S+) *$/i.exec(req.headers.authorization ?? '')?.[1];
      if (got === undefined || !safeEqual(got, deps.metricsToken)) {
        const message = got === undefined ? 'missing "Authorization: Bearer <metrics token>" header' : 'invalid metrics token';
        res.status(401).set('WWW-Authenticate', 'Bearer realm="tollgate-authn-metrics"').json({ errors: [{ code: 'UNAUTHORIZED', message }], error: 'unauthorized', error_description: message });
        return;
      }
    }
    res.type(deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics());
  });
  r.get('/.well-known/jwks.json', (_req, res) => {
    res.set('Cache-Control', 'public, max-age=300');
    res.json(deps.jwks);
  });
  return r;
}
