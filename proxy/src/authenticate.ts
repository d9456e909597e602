/**
 * Who is asking, on every request: a tollgate access token (verified here, bearer.ts), Basic
 * credentials through authn's own identify() — the same credential chain, credential cache, per-(account,
 * IP) throttle and bcrypt budget as `/auth` — or nobody (anonymous only with --anonymous). authn's
 * refusals become registry errors: 401 with this mode's challenge, 429/503 with Retry-After.
 */
import type { IncomingMessage } from 'node:http';
import { AuthnError } from '../../authn-server/src/errors.js';
import { identify, type IdentityDeps } from '../../authn-server/src/routes/identity.js';
import type { Labels } from '../../authn-server/src/credentials/backend.js';
import type { AccessEntry } from '../../authn-server/src/token/issuer.js';
import { verifyBearer, type BearerOptions } from './bearer.js';
import { ProxyError } from './errors.js';

export type Caller =
  | { via: 'basic' | 'anonymous'; account: string; labels: Labels | null }
  | { via: 'bearer'; account: string; access: AccessEntry[] };

export interface AuthenticateDeps {
  identity: IdentityDeps;
  bearer: BearerOptions;
  service: string;
}

const NO_FIELDS = new Map<string, string[]>();

function fromAuthn(e: AuthnError): ProxyError {
  if (e.status === 429) return new ProxyError(429, 'TOOMANYREQUESTS', e.message, { retryAfterSec: e.opts.retryAfterSec ?? 60 });
  if (e.status >= 500) return new ProxyError(503, 'UNAVAILABLE', e.message, { retryAfterSec: e.opts.retryAfterSec ?? 5 });
  return new ProxyError(e.status === 400 ? 400 : 401, 'UNAUTHORIZED', e.message, e.opts.field ? { field: e.opts.field } : {});
}

/**
 * The caller, or `null` when the request carries no credentials and anonymous access is off (the caller
 * answers with a challenge). A bad credential throws a ProxyError (401 gets its challenge from app.ts).
 */
export async function authenticate(deps: AuthenticateDeps, req: IncomingMessage, ip: string): Promise<Caller | null> {
  const header = req.headers.authorization;
  const bearer = header ? /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header) : null;
  if (bearer) {
    const r = await verifyBearer(bearer[1]!, deps.bearer);
    if ('refused' in r) throw new ProxyError(401, 'UNAUTHORIZED', `invalid token: ${r.refused}`, { field: 'Authorization' });
    return { via: 'bearer', account: r.account, access: r.access };
  }
  if (header && !/^Basic\b/i.test(header)) throw new ProxyError(401, 'UNAUTHORIZED', 'unsupported Authorization scheme (use Basic or Bearer)', { field: 'Authorization' });
  if (!header && !deps.identity.anonymous) return null;
  try {
    const who = await identify(deps.identity, 'GET', NO_FIELDS, header, ip, { service: deps.service, single: true });
    return { via: who.grant === 'anonymous' ? 'anonymous' : 'basic', account: who.account, labels: who.labels };
  } catch (e) {
    if (e instanceof AuthnError) throw fromAuthn(e);
    throw e;
  }
}
