/**
 * Scoped API tokens, admin token only: `POST /tokens` `{name, namespaces, abilities, ttl?}` (201 with the
 * token — the only time it is shown), `GET /tokens` (no token, no hash), `DELETE /tokens/{name}`
 * (revoke: the next request with it is a 401, on every replica).
 */
import { Router } from 'express';
import { adminOnly } from '../auth/guard.js';
import { AuthzError, parseBody, parseParam } from '../errors.js';
import { jsonBody, type RouteContext } from '../routes/context.js';
import { CreateTokenSchema, TokenNameSchema } from './schema.js';
import { hashApiToken, newApiToken, newTokenId } from './secret.js';
import { isExpired, type ApiTokenRecord } from './store.js';

/** An API token as `GET /tokens` lists it (never the token, never its hash); the CLI and the console read this type. */
export interface ApiTokenView {
  id: string;
  name: string;
  namespaces: string[];
  abilities: ApiTokenRecord['abilities'];
  created_at: string;
  expires_at: string | null;
  last_used_at: string | null;
  expired: boolean;
}

/** `POST /tokens`' answer: the view plus the token, shown this once. */
export type NewApiTokenView = ApiTokenView & { token: string };

function publicTokenView(t: ApiTokenRecord, now: Date): ApiTokenView {
  return {
    id: t.id,
    name: t.name,
    namespaces: t.namespaces,
    abilities: t.abilities,
    created_at: t.created_at,
    expires_at: t.expires_at,
    last_used_at: t.last_used_at,
    expired: isExpired(t, now.getTime()),
  };
}

export function tokenRoutes(ctx: RouteContext): Router {
  const r = Router();
  const admin = adminOnly('managing API tokens');
  const store = ctx.store.engine;

  r.post('/tokens', ctx.admin, admin, jsonBody, async (req, res) => {
    const body = parseBody(CreateTokenSchema, req.body);
    const now = ctx.clock();
    const token = newApiToken();
    const record: ApiTokenRecord = {
      id: newTokenId(),
      name: body.name,
      token_hash: hashApiToken(token),
      namespaces: body.namespaces,
      abilities: body.abilities,
      created_at: now.toISOString(),
      expires_at: body.ttl === undefined ? null : new Date(now.getTime() + body.ttl * 1000).toISOString(),
      last_used_at: null,
    };
    if (!(await store.createApiToken(record))) throw new AuthzError(409, 'conflict', `API token "${body.name}" already exists; revoke it first or pick another name`, 'name');
    ctx.logger.info({ token: record.name, id: record.id, namespaces: record.namespaces, abilities: record.abilities, expires_at: record.expires_at }, 'API token created');
    const created: NewApiTokenView = { ...publicTokenView(record, now), token };
    res.status(201).json(created);
  });

  r.get('/tokens', ctx.admin, admin, async (_req, res) => {
    const now = ctx.clock();
    res.json({ tokens: (await store.listApiTokens()).map((t) => publicTokenView(t, now)) });
  });

  r.delete('/tokens/:name', ctx.admin, admin, async (req, res) => {
    const name = parseParam(TokenNameSchema, req.params.name, 'name');
    if (!(await store.deleteApiToken(name))) throw new AuthzError(404, 'not_found', `API token "${name}" does not exist`, 'name');
    ctx.logger.info({ token: name }, 'API token revoked');
    res.json({ revoked: true, name });
  });
  return r;
}
