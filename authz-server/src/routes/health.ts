/** /healthz (process up) and /readyz (database answers) are open; /metrics needs the admin token. */
import { Router } from 'express';
import { adminOnly } from '../auth/guard.js';
import type { RouteContext } from './context.js';

export function healthRoutes(ctx: RouteContext): Router {
  const r = Router();
  r.get('/healthz', (_req, res) => {
    res.json({ ok: true });
  });
  r.get('/readyz', async (_req, res) => {
    let ok = false;
    try {
      ok = await ctx.store.ready();
    } catch (err) {
      ctx.logger.warn({ err }, 'readiness check failed');
    }
    res.status(ok ? 200 : 503).json(ok ? { ok: true } : { ok: false, error: { code: 'unavailable', message: 'database does not answer or the caches are being rebuilt' } });
  });
  r.get('/metrics', ctx.admin, adminOnly('/metrics'), async (_req, res) => {
    res.set('Content-Type', ctx.metrics.registry.contentType).send(await ctx.metrics.registry.metrics());
  });
  return r;
}
