/**
 * GET /export and POST /import[?mode=replace|merge]: admin token only (the export holds the robot
 * HMAC key, an import rewrites everything). Import is all or nothing.
 */
import { Router } from 'express';
import { adminOnly } from '../auth/guard.js';
import { AuthzError, parseBody } from '../errors.js';
import { exportState, importState, StateSchema } from '../store/state.js';
import { exportRobots, prepareRobotsImport } from '../robots/state.js';
import type { RobotStore } from '../robots/store.js';
import { importBody, type RouteContext } from './context.js';

export function stateRoutes(ctx: RouteContext & { robots: RobotStore }): Router {
  const { robots } = ctx;
  const r = Router();
  r.get('/export', ctx.admin, adminOnly('export'), async (_req, res) => {
    res.json({ ...(await exportState(ctx.store, ctx.clock())), robots: await exportRobots(robots) });
  });
  r.post('/import', ctx.admin, adminOnly('import'), importBody, async (req, res) => {
    const mode = req.query.mode ?? 'replace';
    if (mode !== 'replace' && mode !== 'merge') throw new AuthzError(400, 'invalid_request', 'mode must be replace or merge', 'mode');
    const state = parseBody(StateSchema, req.body);
    const robotsPart = state.robots && (await prepareRobotsImport(robots, state.robots, mode));
    const counts = await importState(ctx.store, state, mode, ctx.clock(), robotsPart);
    ctx.logger.info({ mode, ...counts }, 'state imported');
    res.json({ ok: true, mode, ...counts });
  });
  return r;
}
