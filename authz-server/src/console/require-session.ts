/**
 * The console API's gate: the session cookie (and nothing else — a bearer token is the REST API's,
 * not this) resolves to a Principal in `res.locals.principal`, which the shared routers decide from
 * (contracts.md §1). State-changing requests must also pass the CSRF checks. Every change is audited
 * with who made it, once the response is sent.
 */
import type { RequestHandler } from 'express';
import type { Logger } from '../../../common/logger.js';
import { AuthzError } from '../errors.js';
import { readSessionCookie } from './cookie.js';
import { assertCsrfToken, assertSameOrigin, isSafeMethod } from './csrf.js';
import type { Principal } from '../auth/principal.js';
import type { Sessions } from './sessions.js';

export function requireSession(sessions: Sessions, logger: Logger): RequestHandler {
  return async (req, res, next) => {
    try {
      const id = readSessionCookie(req);
      const s = id ? await sessions.resolve(id) : null;
      if (!s) throw new AuthzError(401, 'unauthorized', 'not signed in (or the session expired)', 'session');
      if (!isSafeMethod(req.method)) {
        assertSameOrigin(req);
        assertCsrfToken(req, s.csrf);
        res.on('finish', () => {
          logger.info({ audit: 'console', who: s.principal.name, method: req.method, path: req.path, status: res.statusCode }, 'console change');
        });
      }
      res.locals.principal = s.principal;
      next();
    } catch (e) {
      next(e);
    }
  };
}

/**
 * What the shared routers get as their `admin` gate under `/ui/api`: a principal must have been set
 * by {@link requireSession}. Which namespaces and abilities it holds is for the routes to check
 * (auth/guard.ts), as for a bearer token on the REST API.
 */
export const requirePrincipal: RequestHandler = (_req, res, next) => {
  const p = res.locals.principal as Principal | undefined;
  next(p ? undefined : new AuthzError(401, 'unauthorized', 'not signed in', 'session'));
};

/** The client-token routes (/authorized, robot verify) are not the console's: 404 under /ui/api. */
export const notForConsole: RequestHandler = (req, _res, next) => {
  next(new AuthzError(404, 'not_found', `no route ${req.method} ${req.path}`));
};
