/**
 * The checks admin routes make, all from `res.locals.principal` (set by the auth middleware in front
 * of the router): fail closed when it is missing; 403 naming the ability or namespace that is missing.
 */
import type { RequestHandler, Response } from 'express';
import { AuthzError } from '../errors.js';
import { can, hasAbility, type Ability, type Principal } from './principal.js';

export function principalOf(res: Response): Principal {
  const p = (res.locals as { principal?: Principal }).principal;
  if (!p) throw new AuthzError(401, 'unauthorized', 'no authenticated caller (admin routes need "Authorization: Bearer <token>")');
  return p;
}

const forbidden = (message: string, field?: string): AuthzError => new AuthzError(403, 'forbidden', message, field);

/** 403 unless the caller holds the admin token. */
export function requireAdmin(res: Response, what: string): Principal {
  const p = principalOf(res);
  if (p.kind !== 'admin') throw forbidden(`${what} needs the admin token; API token "${p.name}" cannot do it`);
  return p;
}

/** 403 unless the caller has `ability` (and, when given, `namespace` in its scope). */
export function requireAbility(res: Response, ability: Ability, namespace?: string | null, field = 'namespace'): Principal {
  const p = principalOf(res);
  if (!hasAbility(p, ability)) throw forbidden(`API token "${p.name}" lacks the ability "${ability}"`);
  if (namespace !== undefined && !can(p, ability, namespace)) {
    const ns = namespace === null || namespace === '' ? 'no namespace' : `namespace "${namespace}"`;
    throw forbidden(`API token "${p.name}" may not act in ${ns} (its namespaces: ${p.kind === 'scoped' ? p.namespaces.join(', ') : '*'})`, field);
  }
  return p;
}

/** A check above as route middleware: its 403 goes to the error middleware. */
const asMiddleware = (check: (res: Response) => unknown): RequestHandler => (_req, res, next) => {
  try {
    check(res);
    next();
  } catch (e) {
    next(e);
  }
};

/** Route middleware form of {@link requireAdmin}. */
export const adminOnly = (what: string): RequestHandler => asMiddleware((res) => requireAdmin(res, what));

/** Route middleware form of {@link requireAbility} without a namespace. */
export const needAbility = (ability: Ability): RequestHandler => asMiddleware((res) => requireAbility(res, ability));
