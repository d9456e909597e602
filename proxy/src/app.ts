/**
 * The proxy's request listener, with everything injected (authn core parts, upstream, clock) so tests
 * drive it in-process. Per request: map it to its scopes (route.ts; unknown or tricky paths → 404,
 * never forwarded), check Range headers, authenticate (authenticate.ts), decide (authorize.ts), then
 * forward (forward.ts) — in token mode with a token for exactly the grant, in plain mode with the
 * configured upstream credentials or none, never the client's `Authorization`.
 * Refusals: no credentials → 401 with this mode's challenge; a bearer token short of the scope → 401
 * `insufficient_scope` (plain mode, as a registry answers); an authenticated caller without the access →
 * 403 DENIED (a 401 would make docker report a wrong password).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../../common/logger.js';
import type { ClientIpResolver } from '../../authn-server/src/request/client-ip.js';
import { formatScope } from '../../authn-server/src/scope/parse.js';
import { authenticate, type AuthenticateDeps, type Caller } from './authenticate.js';
import { authorize, type Decide, type Grant } from './authorize.js';
import { basicChallenge, bearerChallenge, ProxyError, sendProxyError } from './errors.js';
import { forward, type Upstream } from './forward.js';
import { actionOf, type ProxyMetrics, type RouteAction } from './metrics.js';
import { mapRequest, withoutMount, type Route } from './route.js';
import type { UpstreamTokens } from './upstream-token.js';
import { rangeProblem } from './range.js';

export type ProxyMode = { kind: 'token'; tokens: UpstreamTokens; realm: string } | { kind: 'plain'; tokenRealm: string; upstreamAuthorization?: string };

export interface ProxyDeps {
  mode: ProxyMode;
  auth: AuthenticateDeps;
  decide: Decide;
  upstream: Upstream;
  clientIp: ClientIpResolver;
  service: string;
  logger: Logger;
  /** Requests by action and status, client bytes (counted when each response closes). */
  metrics?: ProxyMetrics;
}

export type ProxyHandler = (req: IncomingMessage, res: ServerResponse) => void;

export function createProxyHandler(deps: ProxyDeps): ProxyHandler {
  const challenge = (route: Route | undefined, error?: 'insufficient_scope' | 'invalid_token'): string =>
    deps.mode.kind === 'token' ? basicChallenge(deps.mode.realm) : bearerChallenge(deps.mode.tokenRealm, deps.service, (route?.scopes ?? []).map(formatScope), error);
  const unauthorized = (route: Route | undefined, message: string, error?: 'insufficient_scope' | 'invalid_token') =>
    new ProxyError(401, 'UNAUTHORIZED', message, { challenge: challenge(route, error) });

  async function handle(req: IncomingMessage, res: ServerResponse, seen: { action: RouteAction }): Promise<void> {
    const method = req.method ?? '';
    const route = mapRequest(method, req.url ?? '');
    if (route.ok) seen.action = actionOf(route);
    if (!route.ok) throw new ProxyError(route.status, route.code, route.message, route.allow ? { allow: route.allow } : {});
    const bad = rangeProblem(route.kind, method, req.headers);
    if (bad) throw bad;
    const ip = deps.clientIp(req.socket.remoteAddress, req.headers['x-forwarded-for']);
    let caller: Caller | null;
    try {
      caller = await authenticate(deps.auth, req, ip);
    } catch (e) {
      if (e instanceof ProxyError && e.status === 401) throw unauthorized(route, e.message, req.headers.authorization?.match(/^Bearer/i) ? 'invalid_token' : undefined);
      throw e;
    }
    if (!caller) throw unauthorized(route, 'authentication required');
    if (route.kind === 'base' && caller.via === 'anonymous') throw unauthorized(route, 'authentication required');
    const grant = await authorize(deps.decide, caller, route.scopes, { service: deps.service, ip });
    const audit = { method, kind: route.kind, name: route.name, account: caller.account, via: caller.via, ip };
    if (grant.missing.length) {
      deps.logger.info({ audit: { ...audit, denied: grant.missing.map(formatScope) } }, 'proxy request denied');
      throw denial(caller, route, grant);
    }
    // A mount from a repository the caller may not read becomes a normal upload (as the registry would answer).
    const target = grant.optionalMissing.length ? withoutMount(route) : route.target;
    if (deps.logger.isLevelEnabled('debug')) deps.logger.debug({ audit: { ...audit, granted: grant.access.map(formatScope) } }, 'proxy request');
    const authorization =
      deps.mode.kind === 'token' ? `Bearer ${await deps.mode.tokens.tokenFor(caller.account, grant.access)}` : deps.mode.upstreamAuthorization;
    forward(deps.upstream, req, res, { target, ...(authorization ? { authorization } : {}), onUnauthorized: () => upstreamRefused(res, audit) });
  }

  /** Who gets which refusal: a challenge for the anonymous and (plain mode) for a short token, DENIED for the authenticated. */
  function denial(caller: Caller, route: Route, grant: Grant): ProxyError {
    if (caller.via === 'anonymous') return unauthorized(route, 'authentication required');
    if (caller.via === 'bearer' && deps.mode.kind === 'plain') return unauthorized(route, 'insufficient scope', 'insufficient_scope');
    return new ProxyError(403, 'DENIED', 'requested access to the resource is denied', { detail: grant.missing.map((m) => ({ Type: m.type, Name: m.name, Action: m.actions.join(',') })) });
  }

  /** The upstream refused what the proxy sent: a misconfiguration (or a grant it wants more of), never the client's fault to see. */
  function upstreamRefused(res: ServerResponse, audit: Record<string, unknown>): void {
    const token = deps.mode.kind === 'token';
    deps.logger.error({ audit }, token ? 'upstream refused the proxy\'s token (key not in its rootcertbundle, issuer/service mismatch, or an action it wants that was not granted)' : 'upstream refused the proxy\'s credentials (--upstream-auth-file)');
    sendProxyError(res, token ? new ProxyError(403, 'DENIED', 'requested access to the resource is denied') : new ProxyError(502, 'BAD_GATEWAY', 'upstream registry refused the proxy'));
  }

  return (req, res) => {
    const seen: { action: RouteAction } = { action: 'none' };
    deps.metrics?.track(req, res, () => seen.action);
    handle(req, res, seen).catch((err: unknown) => {
      if (!(err instanceof ProxyError)) {
        deps.logger.error({ err, method: req.method }, 'unhandled proxy error');
        err = new ProxyError(500, 'UNKNOWN', 'internal error');
      }
      // A refused upload's body is never read: close the connection rather than keep the socket for it.
      const hasBody = (req.headers['content-length'] ?? '0') !== '0' || req.headers['transfer-encoding'] !== undefined;
      if (hasBody && !req.complete) res.setHeader('Connection', 'close');
      sendProxyError(res, err as ProxyError);
    });
  };
}
