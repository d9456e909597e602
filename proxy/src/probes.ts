/**
 * `/healthz`, `/readyz` and `/metrics` on the proxy's own listener, answered by authn's health routes
 * (authn-server/src/routes/health.ts) — the same readiness (signing key loaded, authz answering and
 * taking our client token, every credential backend ready) and the same metrics-token check, not a copy.
 * Rules:
 * - only these three exact paths (GET/HEAD, any query) leave the registry handler; the registry API lives
 *   entirely under `/v2/`, so they cannot shadow a repository, and every other path still gets the
 *   registry's 404;
 * - they need no registry credentials (kubelet sends none); `/metrics` needs the metrics token when one is
 *   configured (TOLLGATE_AUTHN_METRICS_TOKEN[_FILE]), as at authn.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import express from 'express';
import { healthRoutes, type HealthDeps } from '../../authn-server/src/routes/health.js';

const PATHS = new Set(['/healthz', '/readyz', '/metrics']);

export type Listener = (req: IncomingMessage, res: ServerResponse) => void;

/** True for the probe paths (the query is ignored; methods other than GET/HEAD stay with the registry handler's 404/405). */
export function isProbe(method: string | undefined, url: string | undefined): boolean {
  if (method !== 'GET' && method !== 'HEAD') return false;
  const u = url ?? '';
  const q = u.indexOf('?');
  return PATHS.has(q < 0 ? u : u.slice(0, q));
}

/** The registry handler, with the probe paths answered by authn's health routes instead. */
export function withProbes(registry: Listener, health: Omit<HealthDeps, 'jwks' | 'keysLoaded'>): Listener {
  const app = express();
  app.disable('x-powered-by');
  // Signing keys are loaded before the listener exists (startProxy fails otherwise); JWKS stay authn's to publish.
  app.use(healthRoutes({ ...health, jwks: { keys: [] }, keysLoaded: true }));
  return (req, res) => (isProbe(req.method, req.url) ? app(req, res) : registry(req, res));
}
