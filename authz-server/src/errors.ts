/**
 * The one error type of authz-server and the middleware that renders every error as
 * `{"error":{"code","message","field"?}}`. Anything unexpected becomes a 500 with no detail leaked.
 */
import type { ServerResponse } from 'node:http';
import type { ErrorRequestHandler, RequestHandler } from 'express';
import type { z } from 'zod';
import { sendJson } from '../../common/json-reply.js';
import type { Logger } from '../../common/logger.js';

export type ErrorCode =
  | 'invalid_json'
  | 'invalid_request'
  | 'body_too_large'
  | 'unsupported_media_type'
  | 'unauthorized'
  | 'forbidden'
  | 'not_found'
  | 'role_not_found'
  | 'binding_not_found'
  | 'role_in_use'
  | 'conflict'
  | 'too_many_requests'
  | 'unavailable'
  | 'internal';

export class AuthzError extends Error {
  constructor(
    readonly status: number,
    readonly code: ErrorCode,
    message: string,
    readonly field?: string,
  ) {
    super(message);
    this.name = 'AuthzError';
  }
}

/** `a.b[0].c` from a zod issue path. */
export function fieldPath(path: ReadonlyArray<PropertyKey>, prefix = ''): string {
  let out = prefix;
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out ? `.${String(p)}` : String(p);
  return out || 'body';
}

/** Turns the first zod issue into a 400 that names the field. */
export function validationError(err: z.ZodError, prefix = ''): AuthzError {
  const issue = err.issues[0];
  if (!issue) return new AuthzError(400, 'invalid_request', 'invalid request body', prefix || 'body');
  if (issue.code === 'unrecognized_keys') {
    const key = issue.keys[0] ?? '';
    const field = fieldPath([...issue.path, key], prefix);
    return new AuthzError(400, 'invalid_request', `unknown field "${field}"`, field);
  }
  const field = fieldPath(issue.path, prefix);
  return new AuthzError(400, 'invalid_request', `${field}: ${issue.message}`, field);
}

/** Parses with a zod schema or throws the 400. */
export function parseBody<T extends z.ZodType>(schema: T, body: unknown, prefix = ''): z.infer<T> {
  if (body === undefined) throw new AuthzError(400, 'invalid_request', 'request body must be a JSON object', 'body');
  const r = schema.safeParse(body);
  if (!r.success) throw validationError(r.error, prefix);
  return r.data;
}

/** Parses one path or query value (a non-string is refused) with a zod schema, or throws the 400 naming it (`field`). */
export function parseParam<T extends z.ZodType>(schema: T, raw: unknown, field: string): z.infer<T> {
  const r = schema.safeParse(typeof raw === 'string' ? raw : '');
  if (!r.success) throw validationError(r.error, field);
  return r.data;
}

/** The database could not answer, or the caches may be stale: could not decide, so 503 (fail closed). */
export const storeUnavailable = (why: string): AuthzError => new AuthzError(503, 'unavailable', `authz store unavailable: ${why}; retry shortly`);

export const notFound: RequestHandler = (req, _res, next) => {
  next(new AuthzError(404, 'not_found', `no route ${req.method} ${req.path}`));
};

interface BodyParserError {
  type?: string;
  status?: number;
  limit?: number;
}

export function errorMiddleware(log: Logger): ErrorRequestHandler {
  return (err: unknown, req, res, _next) => {
    let e: AuthzError;
    const bp = err as BodyParserError;
    if (err instanceof AuthzError) e = err;
    else if (bp?.type === 'entity.too.large') e = new AuthzError(413, 'body_too_large', `request body is larger than ${bp.limit ?? 65536} bytes`, 'body');
    else if (bp?.type === 'entity.parse.failed') e = new AuthzError(400, 'invalid_json', `request body is not valid JSON: ${(err as Error).message}`, 'body');
    else if (bp?.type === 'encoding.unsupported' || bp?.type === 'charset.unsupported') e = new AuthzError(415, 'unsupported_media_type', (err as Error).message, 'body');
    else if (typeof bp?.status === 'number' && bp.status >= 400 && bp.status < 500) {
      // Body-parser failures (bad Content-Encoding, aborted body) concern the body; the router's
      // only other 4xx is a path parameter that is not valid percent-encoding.
      const inPath = /^Failed to decode param/.test((err as Error).message);
      e = new AuthzError(bp.status, 'invalid_request', (err as Error).message, inPath ? 'path' : 'body');
    }
    else {
      log.error({ err, method: req.method, path: req.path }, 'unhandled error');
      e = new AuthzError(500, 'internal', 'internal error');
    }
    sendError(res, e);
  };
}

/** Renders an AuthzError as `{"error":{code,message,field?}}`; 401s carry the Bearer challenge. */
export function sendError(res: ServerResponse, e: AuthzError): void {
  if (res.headersSent) return;
  if (e.status === 401) res.setHeader('WWW-Authenticate', 'Bearer realm="tollgate-authz"');
  sendJson(res, e.status, { error: { code: e.code, message: e.message, ...(e.field ? { field: e.field } : {}) } });
}
