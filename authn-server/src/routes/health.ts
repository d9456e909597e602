/**
 * `/healthz` (process up), `/readyz` (keys loaded and authz-server reachable; 503 otherwise),
 * `/metrics` (Prometheus), `/.well-known/jwks.json` (published keys, for registry 3.x `jwks`).
 */
import { Router } from 'express';
import type { JWK } from 'jose';
import type { AuthzClient } from '../authz-client/index.js';
import type { Metrics } from '../metrics/index.js';

export interface HealthDeps {
  authz: AuthzClient;
  metrics: Metrics;
  jwks: { keys: JWK[] };
  keysLoaded: boolean;
}

export function healthRoutes(deps: HealthDeps): Router {
  const r = Router();
  r.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  r.get('/readyz', async (_req, res) => {
    const authz = await deps.authz.ping();
    const ready = authz && deps.keysLoaded;
    res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'not ready', checks: { keys: deps.keysLoaded, authz } });
  });
  r.get('/metrics', async (_req, res) => {
    res.type(deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics());
  });
  r.get('/.well-known/jwks.json', (_req, res) => {
    res.set('Cache-Control', 'public, max-age=300');
    res.json(deps.jwks);
  });
  return r;
}
