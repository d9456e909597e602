/**
 * POST /authorized — the decision (client or admin token): 200 when every requested action is
 * granted, 403 with the granted subset otherwise. `robot:` accounts are decided by robots/decide.ts.
 * POST /explain — same input, with the trace (admin); for a robot, its own grant in words.
 * Production traffic to /authorized takes the express-free path in authorized-fast.ts, which runs
 * the same `decideRequest`; this route serves what that path hands over (see there).
 */
import { Router } from 'express';
import { AuthorizedRequestSchema, AUTHORIZED_PATH, type AuthorizedResponse } from '../../../common/authorized.js';
import { parseBody } from '../errors.js';
import { decideRobot, explainRobot } from '../robots/decide.js';
import { ROBOT_PREFIX } from '../robots/schema.js';
import type { RobotStore } from '../robots/store.js';
import { jsonBody, type RouteContext } from './context.js';

export type DecideDeps = Pick<RouteContext, 'store' | 'metrics' | 'clock'> & { robots: RobotStore };

/**
 * Validates a parsed body against the contract (400 naming the field), decides, counts the result.
 * Robots get exactly their own grants; role bindings (even `*` patterns) never apply to them.
 */
export async function decideRequest(ctx: DecideDeps, body: unknown): Promise<{ status: 200 | 403; out: AuthorizedResponse }> {
  const input = parseBody(AuthorizedRequestSchema, body);
  const out: AuthorizedResponse = input.Account.startsWith(ROBOT_PREFIX) ? await decideRobot(ctx.robots, input, ctx.clock()) : await ctx.store.decide(input);
  ctx.metrics.decisions.inc({ result: out.allowed ? 'allowed' : 'denied' });
  return { status: out.allowed ? 200 : 403, out };
}

export function decisionRoutes(ctx: RouteContext & { robots: RobotStore }): Router {
  const r = Router();
  r.post(AUTHORIZED_PATH, ctx.client, jsonBody, async (req, res) => {
    const { status, out } = await decideRequest(ctx, req.body);
    res.status(status).json(out);
  });
  r.post('/explain', ctx.admin, jsonBody, async (req, res) => {
    const input = parseBody(AuthorizedRequestSchema, req.body);
    const out = input.Account.startsWith(ROBOT_PREFIX) ? await explainRobot(ctx.robots, input, ctx.clock()) : await ctx.store.explain(input);
    res.json({ request: input, ...out });
  });
  return r;
}
