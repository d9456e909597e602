/**
 * POST /authorized — the decision (client or admin token): 200 when every requested action is
 * granted, 403 with the granted subset otherwise. POST /explain — same input, with the trace (admin).
 */
import { Router } from 'express';
import { AuthorizedRequestSchema, AUTHORIZED_PATH, type AuthorizedResponse } from '../../../common/authorized.js';
import { parseBody } from '../errors.js';
import { jsonBody, type RouteContext } from './context.js';

export function decisionRoutes(ctx: RouteContext): Router {
  const r = Router();
  r.post(AUTHORIZED_PATH, ctx.client, jsonBody, async (req, res) => {
    const input = parseBody(AuthorizedRequestSchema, req.body);
    const out: AuthorizedResponse = await ctx.store.decide(input);
    ctx.metrics.decisions.inc({ result: out.allowed ? 'allowed' : 'denied' });
    res.status(out.allowed ? 200 : 403).json(out);
  });
  r.post('/explain', ctx.admin, jsonBody, async (req, res) => {
    const input = parseBody(AuthorizedRequestSchema, req.body);
    res.json({ request: input, ...(await ctx.store.explain(input)) });
  });
  return r;
}
