/**
 * The admin routes' authentication: `Authorization: Bearer <admin token | API token>` → a Principal in
 * `res.locals.principal` (contracts.md §1); the routes decide from it. The token is resolved by the app's
 * one resolver (tokens/resolve.ts), the console's too. Unknown, revoked and expired tokens are one 401.
 * The client token is not accepted here.
 */
import type { RequestHandler } from 'express';
import { AuthzError } from '../errors.js';
import type { PrincipalResolver } from '../tokens/resolve.js';
import { bearer, type Tokens } from './bearer.js';
import { ADMIN_PRINCIPAL, type Principal } from './principal.js';

export function adminAuth(tokens: Tokens, principals: PrincipalResolver): RequestHandler {
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
    const principal = await principals.resolve(got);
    if (!principal) throw new AuthzError(401, 'unauthorized', 'invalid, expired or revoked token (admin routes take the admin token or an API token)');
    return principal;
  }
}
