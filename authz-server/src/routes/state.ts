/** GET /export and POST /import[?mode=replace|merge] (admin token). Import is all or nothing. */
import { Router } from 'express';
import { AuthzError, parseBody } from '../errors.js';
import { exportState, importState, StateSchema } from '../store/state.js';
import { importBody, type RouteContext } from './context.js';

export function stateRoutes(ctx: RouteContext): Router {
  const r = Router();
  r.get('/export', ctx.admin, async (_req, res) => {
    res.json(await exportState(ctx.store, ctx.clock()));
  });
  r.post('/import', ctx.admin, importBody, async (req, res) => {
    const mode = req.query.mode ?? 'replace';
    if (mode !== 'replace' && mode !== 'merge') throw new AuthzError(400, 'invalid_request', 'mode must be replace or merge', 'mode');
    const state = parseBody(StateSchema, req.body);
    const counts = await importState(ctx.store, state, mode, ctx.clock());
    ctx.logger.info({ mode, ...counts }, 'state imported');
    res.json({ ok: true, mode, ...counts });
  });
  return r;
}
