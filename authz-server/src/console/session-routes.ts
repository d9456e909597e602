/**
 * `/ui/api/session`: POST `{token}` signs in (throttled per client address, same-origin only),
 * GET says who is signed in (and hands the page its CSRF token and feature flags), DELETE signs out
 * (the row is deleted: the old cookie is dead on every replica). The token is read from the body
 * only, compared in constant time, and never logged.
 */
import { clientKey } from '../../../common/client-key.js';
import { Router, type Request } from 'express';
import { z } from 'zod';
import type { Logger } from '../../../common/logger.js';
import { AuthzError, parseBody } from '../errors.js';
import { jsonBody } from '../routes/context.js';
import { clearSessionCookie, readSessionCookie, setSessionCookie } from './cookie.js';
import { assertCsrfToken, assertSameOrigin } from './csrf.js';
import type { Principal, TokenResolver } from './principal.js';
import type { Sessions } from './sessions.js';
import type { SignInThrottle } from './throttle.js';

export const SignInSchema = z.object({ token: z.string().min(1, 'must not be empty').max(4096, 'must be at most 4096 characters') }).strict();
export type SignIn = z.infer<typeof SignInSchema>;

/** What the page learns about its session. */
export interface SessionInfo {
  principal: { kind: Principal['kind']; name: string; namespaces?: string[] };
  csrf: string;
  features: { registry_host: string | null; services: string[] };
  idle_seconds: number;
}

export interface SessionRouteDeps {
  sessions: Sessions;
  resolver: TokenResolver;
  throttle: SignInThrottle;
  logger: Logger;
  registryHost: string | null;
  services: string[];
}

// One client as authn's throttles count it (common/client-key.ts): an IPv6 /64 is one host, not 2^64 budgets.
const clientOf = (req: Request): string => clientKey(req.socket.remoteAddress ?? 'unknown');

export function sessionRoutes(d: SessionRouteDeps): Router {
  const r = Router();
  const info = (principal: Principal, csrf: string): SessionInfo => ({
    principal: { kind: principal.kind, name: principal.name, ...(principal.kind === 'scoped' ? { namespaces: principal.namespaces } : {}) },
    csrf,
    features: { registry_host: d.registryHost, services: d.services },
    idle_seconds: Math.floor(d.sessions.times.idleMs / 1000),
  });

  r.post('/session', jsonBody, async (req, res) => {
    assertSameOrigin(req);
    const address = req.socket.remoteAddress ?? 'unknown';
    const client = clientOf(req);
    const wait = d.throttle.retryAfter(client);
    if (wait > 0) {
      res.setHeader('Retry-After', String(wait));
      throw new AuthzError(429, 'too_many_requests', `too many failed sign-ins from this address; try again in ${wait} s`, 'token');
    }
    const { token } = parseBody(SignInSchema, req.body);
    const principal = await d.resolver.resolve(token);
    if (!principal) {
      d.throttle.failed(client);
      d.logger.warn({ audit: 'console', event: 'sign-in failed', address }, 'console sign-in failed');
      throw new AuthzError(401, 'unauthorized', 'wrong token', 'token');
    }
    const { id, csrf } = await d.sessions.create(principal, token);
    setSessionCookie(req, res, id, d.sessions.times.absoluteMs);
    d.logger.info({ audit: 'console', event: 'sign-in', who: principal.name, address }, 'console sign-in');
    res.status(201).json(info(principal, csrf));
  });

  r.get('/session', async (req, res) => {
    const id = readSessionCookie(req);
    const s = id ? await d.sessions.resolve(id) : null;
    if (!s) throw new AuthzError(401, 'unauthorized', 'not signed in (or the session expired)', 'session');
    res.json(info(s.principal, s.csrf));
  });

  r.delete('/session', async (req, res) => {
    assertSameOrigin(req);
    const id = readSessionCookie(req);
    const s = id ? await d.sessions.resolve(id) : null;
    if (id && s) {
      assertCsrfToken(req, s.csrf);
      await d.sessions.end(id);
      d.logger.info({ audit: 'console', event: 'sign-out', who: s.principal.name }, 'console sign-out');
    }
    clearSessionCookie(req, res);
    res.json({ ok: true });
  });
  return r;
}
