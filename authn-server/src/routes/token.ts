/**
 * GET and POST `/auth` (aliases `/token`, `/auth/token`): the registry token endpoint.
 * Order: parse and validate the request (fields, service, scopes, account) before any password
 * check; identify the caller; ask authz per scope; sign. One audit line per request, success or not.
 * Never 403 (containerd treats it as fatal): denial is an empty or smaller `access`, with 200.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import express, { Router, type Request, type Response } from 'express';
import { auditLogger, type Logger } from '../../../common/logger.js';
import type { AuthzClient } from '../authz-client/index.js';
import { ROBOT_PREFIX } from '../../../common/robots.js';
import { sendJson } from '../../../common/json-reply.js';
import { AuthnError, bodyParserError, NO_STORE, sendError } from '../errors.js';
import { children } from '../../../common/http-metrics.js';
import type { Metrics } from '../metrics/index.js';
import type { ClientIpResolver } from '../request/client-ip.js';
import { bodyText, parseForm, queryForPost, single, withQuery, type Fields } from '../request/form.js';
import { formatScope, parseScopes } from '../scope/parse.js';
import { decide } from '../token/grant.js';
import { boundAudit, redactSecretLike } from '../token/audit.js';
import type { TokenIssuer } from '../token/issuer.js';
import { identify, type IdentityDeps } from './identity.js';

export const TOKEN_PATHS = ['/auth', '/token', '/auth/token'];
export const BODY_LIMIT = 64 * 1024;

export interface TokenRouteDeps extends IdentityDeps {
  authz: AuthzClient;
  services: string[];
  realm: string;
  clientIp: ClientIpResolver;
  metrics: Metrics;
  logger: Logger;
}

/**
 * What the handler reads from a request: node's IncomingMessage, as express hands it over (with
 * `originalUrl` and, for POST, the raw `body`) or as app.ts's fast path for GET passes it unchanged.
 */
export type TokenRequest = Pick<IncomingMessage, 'url' | 'headers' | 'socket'> & { method: string; originalUrl?: string; body?: unknown; bodyError?: unknown };

/** The endpoint handler; rejects only on unexpected (non-AuthnError) errors. */
export type TokenHandler = (req: TokenRequest, res: ServerResponse) => Promise<void>;

function readFields(req: TokenRequest): Fields {
  const url = req.originalUrl ?? req.url ?? '';
  const q = url.indexOf('?');
  const query = parseForm(q < 0 ? '' : url.slice(q + 1), 'query');
  if (req.method === 'GET') return query;
  if (req.bodyError !== undefined) throw bodyParserError(req.bodyError) ?? req.bodyError;
  const type = req.headers['content-type'];
  if (!Buffer.isBuffer(req.body)) {
    if (type && (req.headers['content-length'] ?? '0') !== '0') {
      throw new AuthnError(415, 'unsupported_media_type', 'POST body must be application/x-www-form-urlencoded', { field: 'body' });
    }
    return queryForPost(query);
  }
  return withQuery(parseForm(bodyText(req.body), 'body'), query);
}

function resolveService(fields: Fields, services: string[]): string {
  const asked = single(fields, 'service');
  if (asked === undefined) {
    if (services.length === 1) return services[0]!;
    throw new AuthnError(400, 'invalid_request', 'service is required', { field: 'service' });
  }
  if (!services.includes(asked)) throw new AuthnError(400, 'invalid_request', `unknown service "${asked.slice(0, 128)}"`, { field: 'service' });
  return asked;
}

/** The express routes, plus `direct`: the same handler, for app.ts's express-free GET fast path. */
export function tokenRoutes(deps: TokenRouteDeps): Router & { direct: TokenHandler } {
  const r = Router();
  const raw = express.raw({ type: 'application/x-www-form-urlencoded', limit: BODY_LIMIT });
  // The audit record below is built from named fields only (account names pass redactSecretLike).
  const audits = auditLogger(deps.logger);
  const issued = children((grant) => deps.metrics.tokensIssued.labels(grant));

  const handle: TokenHandler = async (req, res) => {
    const ip = deps.clientIp(req.socket.remoteAddress, req.headers['x-forwarded-for']);
    const audit: Record<string, unknown> = { ip, method: req.method };
    try {
      const fields = readFields(req);
      audit.client_id = single(fields, 'client_id');
      const service = resolveService(fields, deps.services);
      const scopes = parseScopes(fields.get('scope') ?? []);
      audit.service = service;
      audit.requested = scopes.map(formatScope);
      const account = single(fields, 'account');
      audit.account = account === undefined ? undefined : redactSecretLike(account);
      const offline = req.method === 'GET' ? single(fields, 'offline_token') === 'true' : single(fields, 'access_type') === 'offline';
      const who = await identify(deps, req.method, fields, req.headers.authorization, ip, { service, single: deps.services.length === 1 });
      audit.account = who.account;
      audit.grant = who.grant;
      if (who.audit) Object.assign(audit, who.audit);
      // Clients send the user name they logged in with; a backend may have mapped it to another account
      // (a JWT login's account is the token's subject, `team-a` logs in as `namespace:team-a`).
      // Clients that split `robot:<ns>+<name>:<secret>` at the first colon (skopeo --creds, PROTOCOL.md §10) send `robot`.
      const robotAlias = account === 'robot' && who.account.startsWith(ROBOT_PREFIX);
      if (account !== undefined && account !== who.account && account !== who.user && !robotAlias) {
        throw new AuthnError(400, 'invalid_request', `account "${account.slice(0, 128)}" does not match the authenticated user`, { field: 'account' });
      }
      const decision = await decide(deps.authz, { account: who.account, service, ip, labels: who.labels, scopes });
      // Both signatures asked before either is awaited: they land in the same batch (token/sign-batch.ts).
      const refresh = offline && who.credentialId !== undefined && who.refreshToken === undefined
        ? deps.issuer.issueRefresh({ sub: who.account, credentialId: who.credentialId, notAfter: who.notAfter, service })
        : undefined;
      const [access, fresh] = await Promise.all([deps.issuer.issueAccess({ sub: who.account, aud: service, access: decision.access }), refresh]);
      const refreshToken = offline && who.credentialId !== undefined ? (who.refreshToken ?? fresh?.token) : undefined;
      Object.assign(audit, { granted: decision.granted, denied: decision.denied, jti: access.jti, refresh_issued: refreshToken !== undefined, outcome: 'issued' });
      issued(who.grant).inc();
      if (decision.denied.length) deps.metrics.scopesDenied.inc(decision.denied.length);
      audits.info({ audit: boundAudit(audit) }, 'token issued');
      sendJson(res, 200, {
        token: access.token,
        access_token: access.token,
        token_type: 'Bearer',
        scope: decision.granted.join(' '),
        expires_in: access.expiresIn,
        issued_at: access.issuedAt.toISOString(),
        ...(refreshToken ? { refresh_token: refreshToken } : {}),
      }, NO_STORE);
    } catch (e) {
      if (!(e instanceof AuthnError)) throw e;
      if (e.opts.account !== undefined) audit.account = redactSecretLike(e.opts.account);
      if (e.opts.audit) Object.assign(audit, e.opts.audit);
      Object.assign(audit, { outcome: e.code, status: e.status, reason: e.message });
      if (e.cause instanceof Error) audit.cause = e.cause.message;
      deps.metrics.tokenRequestsDenied.inc({ reason: e.code });
      audits[e.status >= 500 ? 'error' : 'warn']({ audit: boundAudit(audit) }, 'token refused');
      sendError(res, e, deps.realm);
    }
  };

  const notAllowed = (req: Request, res: Response): void => {
    sendError(res, new AuthnError(405, 'invalid_request', `method ${req.method} not allowed (use GET or POST)`, { allow: 'GET, POST' }), deps.realm);
  };
  // Before r.get, which would otherwise answer HEAD by logging in and signing a token nobody receives.
  r.head(TOKEN_PATHS, notAllowed);
  r.get(TOKEN_PATHS, handle);
  // A body the parser refuses (413, bad gzip) is still a token request: handle() answers it, with its audit line.
  const body = (req: Request, res: Response, next: () => void): void =>
    void raw(req, res, (err?: unknown) => {
      if (err !== undefined) (req as TokenRequest).bodyError = err;
      next();
    });
  r.post(TOKEN_PATHS, body, handle);
  r.all(TOKEN_PATHS, notAllowed);
  return Object.assign(r, { direct: handle });
}
