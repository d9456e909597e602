/**
 * The one error type of authn-server and the middleware that renders it. Bodies carry both the
 * registry-style `errors[]` (what docker/containerd print) and OAuth2's `error`/`error_description`
 * (what OAuth clients read), plus `field` naming the bad input. Unexpected errors become a bare 500.
 */
import type { ServerResponse } from 'node:http';
import type { ErrorRequestHandler, RequestHandler } from 'express';
import { sendJson } from '../../common/json-reply.js';
import type { Logger } from '../../common/logger.js';

export type ErrorCode =
  | 'invalid_request'
  | 'invalid_scope'
  | 'invalid_grant'
  | 'invalid_client'
  | 'unauthorized'
  | 'unsupported_grant_type'
  | 'too_many_requests'
  | 'body_too_large'
  | 'unsupported_media_type'
  | 'not_found'
  | 'unavailable'
  | 'internal';

const AUTHN_ERROR = Symbol.for('tollgate.authn-error');

export class AuthnError extends Error {
  /**
   * Recognised by a global brand, not by class identity: backends loaded with `import()` (credentials/chain.ts)
   * can get a second copy of this module where tests load the server through tsx's CommonJS hook, and their
   * refusals (401/400) must still be told apart from a failed backend (503).
   */
  static override [Symbol.hasInstance](value: unknown): boolean {
    return typeof value === 'object' && value !== null && (value as { [AUTHN_ERROR]?: unknown })[AUTHN_ERROR] === true;
  }
  readonly [AUTHN_ERROR] = true;

  constructor(
    readonly status: number,
    readonly code: ErrorCode,
    message: string,
    /**
     * `allow`: the methods a 405 names; `account`: who the refused request claimed to be; `audit`: more fields for
     * the audit line (neither of the last two is sent to the client).
     */
    readonly opts: { field?: string; retryAfterSec?: number; allow?: string; account?: string; audit?: Record<string, string> } = {},
  ) {
    super(message);
    this.name = 'AuthnError';
  }
}

/**
 * What every token reply carries, success or error: neither may be cached (RFC 6749 §5.1 and §5.2 — the error
 * response uses the same cache headers), nor may a refused login be kept by a proxy.
 */
export const NO_STORE = ['Cache-Control', 'no-store', 'Pragma', 'no-cache'] as const;

/**
 * Writes an AuthnError, its headers in one flat `writeHead` list as success replies are (sendJson). 401s carry
 * the Basic challenge so clients know to send credentials.
 */
export function sendError(res: ServerResponse, e: AuthnError, realm: string): void {
  if (res.headersSent) return;
  const headers: string[] = [...NO_STORE];
  if (e.status === 401) headers.push('WWW-Authenticate', `Basic realm="${realm.replace(/["\\]/g, '')}"`);
  if (e.opts.retryAfterSec !== undefined) headers.push('Retry-After', String(Math.max(1, Math.ceil(e.opts.retryAfterSec))));
  if (e.opts.allow !== undefined) headers.push('Allow', e.opts.allow);
  sendJson(res, e.status, {
    errors: [{ code: e.code.toUpperCase(), message: e.message, ...(e.opts.field ? { detail: { field: e.opts.field } } : {}) }],
    error: e.code,
    error_description: e.message,
    ...(e.opts.field ? { field: e.opts.field } : {}),
  }, headers);
}

export const notFound: RequestHandler = (req, _res, next) => {
  next(new AuthnError(404, 'not_found', `no route ${req.method} ${req.path}`));
};

interface BodyParserError {
  type?: string;
  status?: number;
  limit?: number;
}

/** A body-parser failure (too large, bad encoding, broken gzip) as the 4xx it is; undefined for anything else. */
export function bodyParserError(err: unknown): AuthnError | undefined {
  const bp = err as BodyParserError;
  if (bp?.type === 'entity.too.large') return new AuthnError(413, 'body_too_large', `request body is larger than ${bp.limit ?? 65536} bytes`, { field: 'body' });
  if (bp?.type === 'encoding.unsupported' || bp?.type === 'charset.unsupported') return new AuthnError(415, 'unsupported_media_type', (err as Error).message, { field: 'body' });
  if (typeof bp?.status === 'number' && bp.status >= 400 && bp.status < 500) return new AuthnError(bp.status, 'invalid_request', (err as Error).message, { field: 'body' });
  return undefined;
}

export function errorMiddleware(log: Logger, realm: string): ErrorRequestHandler {
  return (err: unknown, req, res, _next) => {
    let e: AuthnError | undefined = err instanceof AuthnError ? err : bodyParserError(err);
    if (!e) {
      log.error({ err, method: req.method, path: req.path }, 'unhandled error');
      e = new AuthnError(500, 'internal', 'internal error');
    }
    sendError(res, e, realm);
  };
}
