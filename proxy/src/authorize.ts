/**
 * What a caller may do with a mapped request. Basic and anonymous callers go through authn's decision
 * path (core.decide: one `/authorized` per scope behind --decision-cache-ttl, failing closed with 503),
 * on every request — so a removed binding stops the proxy as soon as it stops authn. A bearer token's
 * grant is its own `access` claim (as at the registry). The result is the access to put in an upstream
 * token (never more than was granted and asked) and whether each needed scope is covered.
 */
import { AuthnError } from '../../authn-server/src/errors.js';
import type { Decision, GrantInput } from '../../authn-server/src/token/grant.js';
import type { AccessEntry } from '../../authn-server/src/token/issuer.js';
import type { Caller } from './authenticate.js';
import { ProxyError } from './errors.js';
import type { NeededScope } from './route.js';

export interface Grant {
  /** Granted access, restricted to what the request asked (needed + extra actions). */
  access: AccessEntry[];
  /** Needed scopes (not optional) that are not fully granted. */
  missing: NeededScope[];
  /** Optional scopes that are not fully granted (a mount source the caller may not read). */
  optionalMissing: NeededScope[];
}

export type Decide = (input: GrantInput) => Promise<Decision>;

const asked = (s: NeededScope): string[] => [...new Set([...s.actions, ...(s.extra ?? [])])].sort();

/** Actions of `s` that `access` covers (`*` covers every action). */
function covered(access: AccessEntry[], s: NeededScope): string[] {
  const have = new Set(access.filter((a) => a.type === s.type && a.name === s.name).flatMap((a) => a.actions));
  return have.has('*') ? asked(s) : asked(s).filter((a) => have.has(a));
}

export async function authorize(decide: Decide, caller: Caller, scopes: NeededScope[], ctx: { service: string; ip: string }): Promise<Grant> {
  let granted: AccessEntry[];
  if (caller.via === 'bearer') {
    granted = caller.access;
  } else {
    try {
      const d = await decide({ account: caller.account, service: ctx.service, ip: ctx.ip, labels: caller.labels, scopes: scopes.map((s) => ({ type: s.type, name: s.name, actions: asked(s) })) });
      granted = d.access;
    } catch (e) {
      if (e instanceof AuthnError) throw new ProxyError(503, 'UNAVAILABLE', e.message, { retryAfterSec: e.opts.retryAfterSec ?? 5 });
      throw e;
    }
  }
  const out: Grant = { access: [], missing: [], optionalMissing: [] };
  for (const s of scopes) {
    const actions = covered(granted, s);
    const complete = s.actions.every((a) => actions.includes(a));
    if (!complete) (s.optional ? out.optionalMissing : out.missing).push(s);
    if (actions.length && complete) out.access.push({ type: s.type, name: s.name, actions });
  }
  return out;
}
