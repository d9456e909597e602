/**
 * Asks authz-server about every scope in parallel and keeps exactly what it grants (intersected
 * with what was asked). Scopes granted nothing are left out of `access`. Any failure to get an
 * answer fails the whole request closed (503): never a token built from partial decisions.
 */
import type { AuthorizedRequest, AuthorizedResponse } from '../../../common/authorized.js';
import type { Labels } from '../credentials/backend.js';
import { AuthzUnavailable, type AuthzClient } from '../authz-client/index.js';
import { AuthnError } from '../errors.js';
import { formatScope, type Scope } from '../scope/parse.js';
import type { AccessEntry } from './issuer.js';

export interface Decision {
  access: AccessEntry[];
  granted: string[];
  denied: Array<{ scope: string; reason: string }>;
}

export interface GrantInput {
  account: string;
  service: string;
  ip: string;
  labels: Labels | null;
  scopes: Scope[];
}

const AUTHZ_RETRY_AFTER_SEC = 5;

export async function decide(authz: AuthzClient, input: GrantInput): Promise<Decision> {
  let answers: AuthorizedResponse[];
  const asks = input.scopes.map((s): AuthorizedRequest => ({ Account: input.account, Type: s.type, Name: s.name, Service: input.service, IP: input.ip, Actions: s.actions, Labels: input.labels }));
  // Cached answers (authz-client/cache.ts) are taken without a promise per scope; only misses ask authz.
  const cached = authz.peek ? asks.map((a) => authz.peek!(a)) : undefined;
  try {
    answers = cached?.every((a) => a !== undefined) ? (cached as AuthorizedResponse[]) : await Promise.all(asks.map((a, i) => cached?.[i] ?? authz.authorize(a)));
  } catch (e) {
    if (!(e instanceof AuthzUnavailable)) throw e;
    // The cause goes to the audit line (routes/token.ts), never to the client.
    throw Object.assign(new AuthnError(503, 'unavailable', 'authorization service unavailable, try again shortly', { retryAfterSec: AUTHZ_RETRY_AFTER_SEC }), { cause: e });
  }
  const out: Decision = { access: [], granted: [], denied: [] };
  input.scopes.forEach((s, i) => {
    const allowed = new Set(answers[i]!.actions);
    const actions = s.actions.filter((a) => allowed.has(a));
    if (actions.length) {
      const entry = { type: s.type, ...(s.class ? { class: s.class } : {}), name: s.name, actions };
      out.access.push(entry);
      out.granted.push(formatScope({ ...s, actions }));
    }
    const missing = s.actions.filter((a) => !allowed.has(a));
    if (missing.length) out.denied.push({ scope: formatScope(s), reason: `authz denied ${missing.join(',')}` });
  });
  return out;
}
