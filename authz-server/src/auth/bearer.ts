/**
 * The client-token gate: `/authorized`, robot verify/lookup and the change feed accept the client token
 * or the admin token, compared in constant time. (Admin routes authenticate in admin-auth.ts: the admin
 * token or an API token.) With `--insecure-dev` and no client token configured, these routes are open
 * (the server logs that loudly at start).
 */
import type { RequestHandler } from 'express';
import { createHash, timingSafeEqual } from 'node:crypto';
import { AuthzError } from '../errors.js';

export interface Tokens {
  admin?: string | undefined;
  client?: string | undefined;
  insecureDev?: boolean;
}

export function bearer(header: string | undefined): string | undefined {
  const m = /^Bearer +(\S+) *$/i.exec(header ?? '');
  return m?.[1];
}

export const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

/**
 * The check itself, for express (`requireClientToken`) and for the `/authorized` fast path: undefined
 * when the Authorization header carries the client or the admin token, else the 401 to answer.
 */
export function clientTokenCheck(tokens: Tokens): (authorization: string | undefined) => AuthzError | undefined {
  // Same scheme as common/secret.ts safeEqual (compare SHA-256 digests in constant time), with the
  // configured side hashed once at start instead of on every request.
  const configured = [tokens.client, tokens.admin].filter((t): t is string => typeof t === 'string' && t.length > 0).map(digest);
  const open = tokens.insecureDev === true && !tokens.client;
  return (authorization) => {
    if (open) return undefined;
    const got = bearer(authorization);
    if (got === undefined) return new AuthzError(401, 'unauthorized', 'missing "Authorization: Bearer <client token>" header');
    // Compare against every accepted token so timing does not reveal which one matched.
    let ok = false;
    const d = digest(got);
    for (const t of configured) ok = timingSafeEqual(d, t) || ok;
    return ok ? undefined : new AuthzError(401, 'unauthorized', 'invalid client token');
  };
}

export function requireClientToken(tokens: Tokens): RequestHandler {
  const check = clientTokenCheck(tokens);
  return (req, _res, next) => next(check(req.headers.authorization));
}
