/**
 * POST /authorized — the decision (client or admin token): 200 when every requested action is
 * granted, 403 with the granted subset otherwise. POST /explain — same input, with the trace (admin).
 * Production traffic to /authorized takes the express-free path in authorized-fast.ts, which runs
 * the same `decideRequest`; this route serves what that path hands over (see there).
 */
import { Router } from 'express';
import { AuthorizedRequestSchema, AUTHORIZED_PATH, type AuthorizedResponse } from '../../../common/authorized.js';
import { parseBody } from '../errors.js';
import { jsonBody, type RouteContext } from './context.js';

/** Validates a parsed body against the contract (400 naming the field), decides, counts the result. */
export function decideRequest(ctx: Pick<RouteContext, 'store' | 'metrics'>, body: unknown): { status: 200 | 403; out: AuthorizedResponse } {
  const input = parseBody(AuthorizedRequestSchema, body);
  const out: AuthorizedResponse = ctx.store.decide(input);
  ctx.metrics.decisions.inc({ result: out.allowed ? 'allowed' : 'denied' });
  return { status: out.allowed ? 200 : 403, out };
}

export function decisionRoutes(ctx: RouteContext): Router {
  const r = Router();
  r.post(AUTHORIZED_PATH, ctx.client, jsonBody, (req, res) => {
    const { status, out } = decideRequest(ctx, req.body);
    res.status(status).json(out);
  });
  r.post('/explain', ctx.admin, jsonBody, (req, res) => {
    const input = parseBody(AuthorizedRequestSchema, req.body);
    res.json({ request: input, ...ctx.store.explain(input) });
  });
  return r;
}
