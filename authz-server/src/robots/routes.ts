/**
 * Robot accounts over REST. Admin token or API token: `POST /robots` and `DELETE /robots/{account}`
 * (`robots:manage`), `POST /robots/{account}/rotate` (`robots:rotate`), `GET /robots[?namespace=]`
 * (`read`, listing only the token's namespaces) and `GET /robots/{account}` (`read`, or a robots ability,
 * in the robot's namespace; the controller's one-robot lookup) — an API token only in its namespaces. Client token
 * (authn): `POST /robots/verify` `{account, secret}` and `POST /robots/lookup` `{account}`. A secret is
 * in exactly one response: the one that made it.
 */
import { Router, type Request } from 'express';
import { principalOf, requireAbility } from '../auth/guard.js';
import { hasAbility, inNamespaces } from '../auth/principal.js';
import { ROBOT_LOOKUP_PATH, ROBOT_VERIFY_PATH } from '../../../common/robot-contract.js';
import { K8sNamespaceSchema } from '../common-schema.js';
import { AuthzError, parseBody, parseParam } from '../errors.js';
import { jsonBody, type RouteContext } from '../routes/context.js';
import { lookupRobot, verifyRobot } from './decide.js';
import { CreateRobotSchema, LookupSchema, OVERLAP_RANGE, parseRobotAccount, robotAccount, RotateRobotSchema, VerifySchema } from './schema.js';
import { hashSecret, newSecret } from './secret.js';
import { isRobotExpired, newGeneration, type RobotRecord, type RobotStore } from './store.js';

/** A robot as `GET /robots` shows it (no hashes); the CLI and the console read this type. */
export interface RobotView {
  account: string;
  namespace: string;
  name: string;
  actions: RobotRecord['actions'];
  created_at: string;
  expires_at: string | null;
  rotated_at: string | null;
  previous_valid_until: string | null;
  expired: boolean;
}

/** A reply carrying a new secret, the only one that shows it: `POST /robots` (201) and rotate. */
export interface RobotSecretView {
  account: string;
  secret: string;
  expires_at: string | null;
}
export type CreatedRobotView = RobotSecretView & { actions: RobotRecord['actions'] };
export type RotatedRobotView = RobotSecretView & { previous_valid_until: string };

function publicView(r: RobotRecord, now: Date): RobotView {
  const overlap = r.previous_until !== null && Date.parse(r.previous_until) > now.getTime();
  return {
    account: r.account,
    namespace: r.namespace,
    name: r.name,
    actions: r.actions,
    created_at: r.created_at,
    expires_at: r.expires_at,
    rotated_at: r.rotated_at,
    previous_valid_until: overlap ? r.previous_until : null,
    expired: isRobotExpired(r, now),
  };
}

function accountParam(req: Request): { account: string; namespace: string } {
  const account = String(req.params.account ?? '');
  const parts = parseRobotAccount(account);
  if (!parts) throw new AuthzError(400, 'invalid_request', `"${account.slice(0, 128)}" is not a robot account (robot:<namespace>+<name>)`, 'account');
  return { account, namespace: parts.namespace };
}

export function robotRoutes(ctx: RouteContext & { robots: RobotStore }): Router {
  const r = Router();
  const store = ctx.robots;

  r.post('/robots', ctx.admin, jsonBody, async (req, res) => {
    const body = parseBody(CreateRobotSchema, req.body);
    requireAbility(res, 'robots:manage', body.namespace);
    const now = ctx.clock();
    const secret = newSecret();
    const record: RobotRecord = {
      account: robotAccount(body.namespace, body.name),
      namespace: body.namespace,
      name: body.name,
      actions: body.actions,
      created_at: now.toISOString(),
      expires_at: body.ttl === undefined ? null : new Date(now.getTime() + body.ttl * 1000).toISOString(),
      rotated_at: null,
      secret_hash: hashSecret(await store.hashKey(), secret),
      previous_hash: null,
      previous_until: null,
      generation: newGeneration(),
    };
    if (!(await store.create(record))) throw new AuthzError(409, 'conflict', `robot "${record.account}" already exists; rotate it or delete it first`, 'name');
    ctx.logger.info({ account: record.account, actions: record.actions, expires_at: record.expires_at, by: principalOf(res).name }, 'robot created');
    const created: CreatedRobotView = { account: record.account, secret, expires_at: record.expires_at, actions: record.actions };
    res.status(201).json(created);
  });

  r.get('/robots', ctx.admin, async (req, res) => {
    const ns = req.query.namespace === undefined ? undefined : parseParam(K8sNamespaceSchema, req.query.namespace, 'namespace');
    // Those who may rotate or manage robots may see them (the controller lists before it creates); others need `read`.
    const p = requireAbility(res, hasAbility(principalOf(res), 'robots:rotate') ? 'robots:rotate' : 'read', ns);
    const now = ctx.clock();
    res.json({ robots: (await store.list(ns)).filter((x) => inNamespaces(p, x.namespace)).map((x) => publicView(x, now)) });
  });

  r.get('/robots/:account', ctx.admin, async (req, res) => {
    const { account, namespace } = accountParam(req);
    // As for the list: those who may rotate or manage robots may see one; others need `read`.
    requireAbility(res, hasAbility(principalOf(res), 'robots:rotate') ? 'robots:rotate' : 'read', namespace, 'account');
    const robot = await store.get(account);
    if (!robot) throw new AuthzError(404, 'not_found', `robot "${account}" does not exist`, 'account');
    res.json(publicView(robot, ctx.clock()));
  });

  r.post(ROBOT_VERIFY_PATH, ctx.client, jsonBody, async (req, res) => {
    const body = parseBody(VerifySchema, req.body);
    const out = await verifyRobot(store, body.account, body.secret, ctx.clock());
    res.json(out);
  });

  r.post(ROBOT_LOOKUP_PATH, ctx.client, jsonBody, async (req, res) => {
    const body = parseBody(LookupSchema, req.body);
    const found = await lookupRobot(store, body.account, ctx.clock());
    res.json(found ? { known: true, ...found } : { known: false });
  });

  r.post('/robots/:account/rotate', ctx.admin, jsonBody, async (req, res) => {
    const { account, namespace } = accountParam(req);
    requireAbility(res, 'robots:rotate', namespace, 'account');
    const body = parseBody(RotateRobotSchema, req.body ?? {});
    const now = ctx.clock();
    const overlap = body.overlap ?? OVERLAP_RANGE.default;
    const secret = newSecret();
    const until = new Date(now.getTime() + overlap * 1000).toISOString();
    if (!(await store.rotate(account, hashSecret(await store.hashKey(), secret), until, now.toISOString()))) {
      throw new AuthzError(404, 'not_found', `robot "${account}" does not exist`, 'account');
    }
    const robot = await store.get(account);
    ctx.logger.info({ account, previous_valid_until: until, by: principalOf(res).name }, 'robot rotated');
    const rotated: RotatedRobotView = { account, secret, expires_at: robot?.expires_at ?? null, previous_valid_until: until };
    res.json(rotated);
  });

  r.delete('/robots/:account', ctx.admin, async (req, res) => {
    const { account, namespace } = accountParam(req);
    requireAbility(res, 'robots:manage', namespace, 'account');
    if (!(await store.delete(account))) throw new AuthzError(404, 'not_found', `robot "${account}" does not exist`, 'account');
    ctx.logger.info({ account, by: principalOf(res).name }, 'robot deleted');
    res.json({ deleted: true, account });
  });
  return r;
}
