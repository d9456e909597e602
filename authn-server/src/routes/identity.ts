/**
 * Who is asking, for each request shape (PROTOCOL.md §2):
 * - GET: Basic credentials; none → anonymous only with `--anonymous` and no `account`, else 401.
 * - POST grant_type=password: `username`/`password` fields, else Basic.
 * - POST grant_type=refresh_token: a refresh token of ours, issued for this request's service, whose
 *   credential id still matches the user's current credential (password change or removal → 401).
 * Logins go through the per-(account, IP) throttle and then the per-account guard across addresses
 * (throttle/account-guard.ts): checked first, failures and successes recorded, one check at a time per
 * pair (PairQueue) so a burst of parallel guesses cannot outrun the throttle. A password too long to be
 * one (a `refused` malformed result) is a 400, charged to the throttle like any failure.
 * Login errors carry the attempted account so the audit line names it. An uncached check the server will
 * not run now (bcrypt queue full → 503, this client's budget of uncached checks spent → 429, both with
 * Retry-After) is neither a failure nor a success for the throttle.
 * A user name whose password is a signed token (an issuer's, e.g. `k8s`) skips the throttle and the per-pair
 * queue: a token cannot be guessed, and every node shares that name, so locking it would stop image pulls.
 */
import { safeEqual } from '../../../common/secret.js';
import type { Logger } from '../../../common/logger.js';
import { HashBusyError, type Credentials } from '../credentials/chain.js';
import { presentedUserProblem } from '../credentials/limits.js';
import type { AuthnResult, Labels, LoginThrottle } from '../credentials/backend.js';
import { AuthnError } from '../errors.js';
import { parseBasic } from '../request/basic.js';
import { single, type Fields } from '../request/form.js';
import type { AccountGuard } from '../throttle/account-guard.js';
import type { PairQueue } from '../throttle/pair-queue.js';
import { redactSecretLike, truncateText } from '../token/audit.js';
import type { TokenIssuer } from '../token/issuer.js';

export type GrantKind = 'basic' | 'anonymous' | 'password' | 'refresh_token';

export interface Identity {
  grant: GrantKind;
  account: string;
  /** The user name the client presented, when it differs from the account (a JWT login, `team-a` for `namespace:team-a`). */
  user?: string;
  /** Extra audit-line fields from the backend. */
  audit?: Record<string, string>;
  labels: Labels | null;
  credentialId?: string;
  /** Epoch seconds after which the credential stops (a JWT's exp, a robot's expiry or end of overlap): caps refresh tokens. */
  notAfter?: number;
  /** The refresh token presented (refresh grant), handed back as is when offline access is asked. */
  refreshToken?: string;
}

export interface IdentityDeps {
  credentials: Credentials;
  throttle: LoginThrottle;
  /** Per-account failure limit across all addresses, checked after the pair throttle. */
  accountGuard?: AccountGuard;
  /** Serialises the throttle check + password check per (account, client): one per throttle. */
  loginQueue: PairQueue;
  issuer: TokenIssuer;
  anonymous: boolean;
  logger: Logger;
}

const authRequired = () => new AuthnError(401, 'unauthorized', 'authentication required');

/** A backend that knows when it can decide again says so (`retryAfterSec` on its error, e.g. a JWKS cooldown). */
const unavailable = (account: string, err?: unknown) => {
  const after = (err as { retryAfterSec?: unknown } | undefined)?.retryAfterSec;
  return new AuthnError(503, 'unavailable', 'credential backend unavailable, try again shortly', { retryAfterSec: typeof after === 'number' && after > 0 ? after : 5, account });
};

/** A backend's "no" as the client sees it: a `refused` result keeps its reason (a JWT's audience, an account outside its owner's space). */
function denied(r: Exclude<AuthnResult, { kind: 'ok' }>, user: string): AuthnError {
  if (r.kind !== 'refused') return new AuthnError(401, 'unauthorized', 'invalid username or password', { account: user });
  const opts = { account: user, field: 'password', ...(r.audit ? { audit: r.audit } : {}) };
  return r.malformed ? new AuthnError(400, 'invalid_request', r.reason, opts) : new AuthnError(401, 'unauthorized', r.reason, opts);
}

/**
 * A backend could not decide → 503. One that says when it can decide again (`retryAfterSec`: a JWKS
 * refetch cooldown) is expected trouble, logged at warn with its Retry-After; anything else at error.
 */
function backendFailed(deps: IdentityDeps, user: string, err: unknown): AuthnError {
  const expected = typeof (err as { retryAfterSec?: unknown } | undefined)?.retryAfterSec === 'number';
  deps.logger[expected ? 'warn' : 'error']({ err, account: truncateText(redactSecretLike(user)) }, 'credential backend failed');
  return unavailable(user, err);
}

async function tokenLogin(deps: IdentityDeps, grant: GrantKind, user: string, password: string): Promise<Identity> {
  let r;
  try {
    r = await deps.credentials.authenticate(user, password);
  } catch (err) {
    throw backendFailed(deps, user, err);
  }
  if (r.kind !== 'ok') throw denied(r, user);
  return identityOf(grant, user, r);
}

function identityOf(grant: GrantKind, user: string, r: Extract<AuthnResult, { kind: 'ok' }>): Identity {
  const account = r.account ?? user;
  return { grant, account, ...(account !== user ? { user } : {}), labels: r.labels, credentialId: r.credentialId, ...(r.notAfter !== undefined ? { notAfter: r.notAfter } : {}), ...(r.audit ? { audit: r.audit } : {}) };
}

function login(deps: IdentityDeps, grant: GrantKind, user: string, password: string, ip: string): Promise<Identity> {
  if (deps.credentials.passwordIsToken?.(user)) return tokenLogin(deps, grant, user, password);
  return deps.loginQueue.run(user, ip, async () => {
    const gate = deps.throttle.check(user, ip);
    if (!gate.allowed) throw new AuthnError(429, 'too_many_requests', 'too many failed logins, try again later', { retryAfterSec: gate.retryAfterSec, account: user });
    const guard = deps.accountGuard?.check(user, ip) ?? { allowed: true, reserved: false };
    if (!guard.allowed) {
      const audit = { throttle: 'account' };
      throw new AuthnError(429, 'too_many_requests', 'too many failed logins for this account, try again later', { retryAfterSec: guard.retryAfterSec, account: user, audit });
    }
    let r;
    try {
      r = await deps.credentials.authenticate(user, password, ip);
    } catch (err) {
      deps.accountGuard?.release(user, guard.reserved);
      if (err instanceof HashBusyError) {
        const clientLimit = err.reason === 'client-limit';
        const message = clientLimit ? 'too many password checks from this address, try again later' : 'too many password checks in progress, try again shortly';
        throw new AuthnError(clientLimit ? 429 : 503, clientLimit ? 'too_many_requests' : 'unavailable', message, { retryAfterSec: err.retryAfterSec, account: user });
      }
      throw backendFailed(deps, user, err);
    }
    if (r.kind !== 'ok') {
      deps.throttle.recordFailure(user, ip);
      deps.accountGuard?.recordFailure(user, ip, r.kind !== 'no-match', guard.reserved);
      throw denied(r, user);
    }
    deps.throttle.recordSuccess(user, ip);
    deps.accountGuard?.recordSuccess(user, ip, guard.reserved);
    return identityOf(grant, user, r);
  });
}

/** The service the request is for; `single` when authn serves only that one. */
export interface ForService {
  service: string;
  single: boolean;
}

async function refresh(deps: IdentityDeps, fields: Fields, svc: ForService): Promise<Identity> {
  const token = single(fields, 'refresh_token');
  if (!token) throw new AuthnError(400, 'invalid_request', 'refresh_token is required for grant_type=refresh_token', { field: 'refresh_token' });
  const claims = await deps.issuer.verifyRefresh(token, svc.service, svc.single);
  let current;
  try {
    current = await deps.credentials.lookup(claims.sub);
  } catch (err) {
    deps.logger.error({ err, account: claims.sub }, 'credential lookup failed');
    throw new AuthnError(503, 'unavailable', 'credential backend unavailable, try again shortly', { retryAfterSec: 5 });
  }
  if (!current || !safeEqual(current.credentialId, claims.credentialId)) {
    throw new AuthnError(401, 'invalid_grant', 'refresh_token refused: the account or its password changed, log in again', { field: 'refresh_token', account: claims.sub });
  }
  return { grant: 'refresh_token', account: claims.sub, labels: current.labels, credentialId: current.credentialId, refreshToken: token };
}

export async function identify(deps: IdentityDeps, method: string, fields: Fields, authorization: string | undefined, ip: string, svc: ForService): Promise<Identity> {
  if (method === 'GET') {
    const basic = parseBasic(authorization);
    if (basic) return login(deps, 'basic', basic.user, basic.password, ip);
    if (!deps.anonymous || fields.has('account')) throw authRequired();
    return { grant: 'anonymous', account: '', labels: null };
  }
  const grant = single(fields, 'grant_type');
  if (grant === 'refresh_token') return refresh(deps, fields, svc);
  if (grant === 'password') {
    const user = single(fields, 'username');
    if (user !== undefined) {
      const password = single(fields, 'password');
      if (!user) throw new AuthnError(400, 'invalid_request', 'username must not be empty', { field: 'username' });
      const problem = presentedUserProblem(user);
      if (problem) throw new AuthnError(400, 'invalid_request', `username ${problem}`, { field: 'username' });
      if (password === undefined) throw new AuthnError(400, 'invalid_request', 'password is required with username', { field: 'password' });
      return login(deps, 'password', user, password, ip);
    }
    const basic = parseBasic(authorization);
    if (basic) return login(deps, 'password', basic.user, basic.password, ip);
    throw authRequired();
  }
  if (grant === undefined) throw new AuthnError(400, 'invalid_request', 'grant_type is required (password or refresh_token)', { field: 'grant_type' });
  throw new AuthnError(400, 'unsupported_grant_type', `grant_type "${grant.slice(0, 64)}" is not supported (use password or refresh_token)`, { field: 'grant_type' });
}
