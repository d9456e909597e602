/**
 * Bearer-token gate. Admin routes accept only the admin token; `/authorized` accepts the client
 * token or the admin token. Compared in constant time. With `--insecure-dev`, a token that is not
 * configured leaves its routes open (the server logs that loudly at start).
 */
import type { RequestHandler } from 'express';
import { createHash, timingSafeEqual } from 'node:crypto';
import { AuthzError } from '../errors.js';

export interface Tokens {
  admin?: string | undefined;
  client?: string | undefined;
  insecureDev?: boolean;
}

export type Audience = 'admin' | 'client';

export function bearer(header: string | undefined): string | undefined {
  const m = /^Bearer +(\S+) *$/i.exec(header ?? '');
  return m?.[1];
}

export const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

/**
 * The check itself, for express (`requireToken`) and for the `/authorized` fast path: undefined when
 * the Authorization header carries an accepted token, else the 401 to answer.
 */
export function tokenCheck(tokens: Tokens, audience: Audience): (authorization: string | undefined) => AuthzError | undefined {
  const accepted = audience === 'admin' ? [tokens.admin] : [tokens.client, tokens.admin];
  // Same scheme as common/secret.ts safeEqual (compare SHA-256 digests in constant time), with the
  // configured side hashed once at start instead of on every request.
  const configured = accepted.filter((t): t is string => typeof t === 'string' && t.length > 0).map(digest);
  const missing = audience === 'admin' ? !tokens.admin : !tokens.client && !tokens.admin;
  const open = tokens.insecureDev === true && (missing || (audience === 'client' && !tokens.client));
  return (authorization) => {
    if (open) return undefined;
    const got = bearer(authorization);
    if (got === undefined) return new AuthzError(401, 'unauthorized', `missing "Authorization: Bearer <${audience} token>" header`);
    // Compare against every accepted token so timing does not reveal which one matched.
    let ok = false;
    const d = digest(got);
    for (const t of configured) ok = timingSafeEqual(d, t) || ok;
    return ok ? undefined : new AuthzError(401, 'unauthorized', `invalid ${audience} token`);
  };
}

export function requireToken(tokens: Tokens, audience: Audience): RequestHandler {
  const check = tokenCheck(tokens, audience);
  return (req, _res, next) => next(check(req.headers.authorization));
}
