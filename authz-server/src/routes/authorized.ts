/**
 * POST /authorized — the decision (client or admin token; API tokens are for admin routes only): 200
 * when every requested action is granted, 403 with the granted subset otherwise. `robot:` accounts are
 * decided by robots/decide.ts, and only when authn labelled the request as a verified robot login.
 * POST /explain — same input, same answer, with the trace (admin token, or an API token with `read`
 * for a repository in its namespaces; bindings outside its namespaces are counted, not shown).
 * Production traffic to /authorized takes the express-free path in authorized-fast.ts, which runs
 * the same `decideRequestSync`; this route serves what that path hands over (see there).
 */
import { Router } from 'express';
import { AuthorizedRequestSchema, AUTHORIZED_PATH, type AuthorizedRequest, type AuthorizedResponse } from '../../../common/authorized.js';
import { requireAbility } from '../auth/guard.js';
import { inNamespaces, type Principal } from '../auth/principal.js';
import { parseBody } from '../errors.js';
import { explain, type BindingRef, type ExplainResult } from '../policy/decide.js';
import { decideRobotAccount, explainRobotAccount } from '../robots/decide.js';
import { ROBOT_PREFIX } from '../robots/schema.js';
import type { RobotStore } from '../robots/store.js';
import { jsonBody, type RouteContext } from './context.js';

export type DecideDeps = Pick<RouteContext, 'store' | 'metrics' | 'clock'> & { robots: RobotStore };

export type Decided = { status: 200 | 403; out: AuthorizedResponse };

/**
 * Validates a parsed body against the contract (throws the 400 naming the field), decides, counts the
 * result — without a promise when the store can (decision-cache.ts `decideSync`: cached, or SQLite's
 * synchronous lookup). Robots get exactly their own grants; role bindings (even `*` patterns) never apply.
 */
export function decideRequestSync(ctx: DecideDeps, body: unknown): Decided | Promise<Decided> {
  const input = parseBody(AuthorizedRequestSchema, body);
  const sync = input.Account.startsWith(ROBOT_PREFIX) ? undefined : ctx.store.decideSync(input);
  if (sync) return counted(ctx, sync);
  return (input.Account.startsWith(ROBOT_PREFIX) ? decideRobotAccount(ctx.robots, input, ctx.clock()) : ctx.store.decide(input)).then((out) => counted(ctx, out));
}

function counted(ctx: DecideDeps, out: AuthorizedResponse): Decided {
  ctx.metrics.decided(out.allowed ? 'allowed' : 'denied').inc();
  return { status: out.allowed ? 200 : 403, out };
}

/** The explain answer: one traced pass of the decision; for an API token the trace keeps only its namespaces' bindings. */
async function explainFor(ctx: DecideDeps, input: AuthorizedRequest, p: Principal): Promise<ExplainResult & { hidden_bindings?: number }> {
  if (input.Account.startsWith(ROBOT_PREFIX)) return explainRobotAccount(ctx.robots, input, ctx.clock());
  const all = await ctx.store.bindingsFor(input.Account);
  if (p.kind === 'admin') return explain(input, all, ctx.store.role);
  const shown = (b: BindingRef) => inNamespaces(p, b.namespace);
  return { ...explain(input, all, ctx.store.role, shown), hidden_bindings: all.filter((b) => !shown(b)).length };
}

export function decisionRoutes(ctx: RouteContext & { robots: RobotStore }): Router {
  const r = Router();
  r.post(AUTHORIZED_PATH, ctx.client, jsonBody, async (req, res) => {
    const { status, out } = await decideRequestSync(ctx, req.body);
    res.status(status).json(out);
  });
  r.post('/explain', ctx.admin, jsonBody, async (req, res) => {
    requireAbility(res, 'read'); // before the body is read: a token without `read` gets 403, not a 400 about its body
    const input = parseBody(AuthorizedRequestSchema, req.body);
    // An API token explains requests for repositories of its namespaces only.
    const p = requireAbility(res, 'read', input.Type === 'repository' ? (input.Name.split('/')[0] ?? '') : null, 'Name');
    res.json({ request: input, ...(await explainFor(ctx, input, p)) });
  });
  return r;
}
