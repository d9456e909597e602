/**
 * `/healthz` (process up), `/readyz` (keys loaded, authz-server reachable, every credential backend ready; 503 otherwise),
 * `/metrics` (Prometheus), `/.well-known/jwks.json` (published keys, for registry 3.x `jwks`).
 */
import { Router } from 'express';
import type { JWK } from 'jose';
import type { AuthzClient } from '../authz-client/index.js';
import type { CredentialBackend } from '../credentials/backend.js';
import type { Metrics } from '../metrics/index.js';

export interface HealthDeps {
  authz: AuthzClient;
  metrics: Metrics;
  jwks: { keys: JWK[] };
  keysLoaded: boolean;
  /** Backends that can be not ready (Kubernetes Secrets before the first list); each becomes a check. */
  backends?: readonly CredentialBackend[];
}

export function healthRoutes(deps: HealthDeps): Router {
  const r = Router();
  r.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  r.get('/readyz', async (_req, res) => {
    const authz = await deps.authz.ping();
    const checks: Record<string, boolean> = { keys: deps.keysLoaded, authz };
    for (const b of deps.backends ?? []) if (b.ready) checks[b.name] = b.ready();
    const ready = Object.values(checks).every(Boolean);
    res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'not ready', checks });
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
