/**
 * The admin routes' authentication: `Authorization: Bearer <admin token | API token>` → a Principal in
 * `res.locals.principal` (contracts.md §1); the routes decide from it. The admin token is compared in
 * constant time (digests, as bearer.ts); an API token is found by its hash (tokens/resolve.ts).
 * Unknown, revoked and expired tokens are one 401. The client token is not accepted here.
 */
import { timingSafeEqual } from 'node:crypto';
import type { RequestHandler } from 'express';
import { AuthzError } from '../errors.js';
import type { ResolveToken } from '../tokens/resolve.js';
import { bearer, digest, type Tokens } from './bearer.js';
import { ADMIN_PRINCIPAL, type Principal } from './principal.js';

export function adminAuth(tokens: Tokens, resolveToken: ResolveToken): RequestHandler {
  const adminDigest = tokens.admin ? digest(tokens.admin) : undefined;
  const open = tokens.insecureDev === true && !tokens.admin;
  return async (req, res, next) => {
    try {
      const principal = open ? ADMIN_PRINCIPAL : await authenticate(req.headers.authorization);
      (res.locals as { principal?: Principal }).principal = principal;
      next();
    } catch (e) {
      next(e);
    }
  };

  async function authenticate(header: string | undefined): Promise<Principal> {
    const got = bearer(header);
    if (got === undefined) throw new AuthzError(401, 'unauthorized', 'missing "Authorization: Bearer <admin token or API token>" header');
    if (adminDigest && timingSafeEqual(digest(got), adminDigest)) return ADMIN_PRINCIPAL;
    const scoped = await resolveToken(got);
    if (!scoped) throw new AuthzError(401, 'unauthorized', 'invalid, expired or revoked token (admin routes take the admin token or an API token)');
    return scoped;
  }
}
