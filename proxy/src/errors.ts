/**
 * The one error type of `tollgate proxy` and its writer. Every refusal is the registry's JSON error
 * format (`{"errors":[{code, message, detail}]}`) with `Docker-Distribution-API-Version`, so docker,
 * podman, skopeo and containerd react as they do to a registry; a 401 carries the challenge of the
 * proxy's mode, a 503 a `Retry-After`. Nothing here ever names the upstream.
 */
import type { ServerResponse } from 'node:http';
import { sendJson } from '../../common/json-reply.js';

export type RegistryCode =
  | 'UNAUTHORIZED'
  | 'DENIED'
  | 'NAME_INVALID'
  | 'DIGEST_INVALID'
  | 'UNSUPPORTED'
  | 'RANGE_INVALID'
  | 'BLOB_UPLOAD_INVALID'
  | 'TOOMANYREQUESTS'
  | 'UNAVAILABLE'
  | 'BAD_GATEWAY'
  | 'UNKNOWN';

export class ProxyError extends Error {
  constructor(
    readonly status: number,
    readonly code: RegistryCode,
    message: string,
    readonly opts: { field?: string; retryAfterSec?: number; challenge?: string; allow?: string; detail?: unknown } = {},
  ) {
    super(message);
    this.name = 'ProxyError';
  }
}

/** Writes `e` unless the response has started (then the socket is cut: a half-sent blob must not look whole). */
export function sendProxyError(res: ServerResponse, e: ProxyError): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.setHeader('Docker-Distribution-API-Version', 'registry/2.0');
  res.setHeader('Cache-Control', 'no-store');
  if (e.opts.challenge) res.setHeader('WWW-Authenticate', e.opts.challenge);
  if (e.opts.retryAfterSec !== undefined) res.setHeader('Retry-After', String(Math.max(1, Math.ceil(e.opts.retryAfterSec))));
  if (e.opts.allow) res.setHeader('Allow', e.opts.allow);
  // Never a null detail: docker turns a detail-less error whose message is the code's stock text into a bare
  // code, which it does not recognise as final — a DENIED push would then be retried for a minute.
  sendJson(res, e.status, { errors: [{ code: e.code, message: e.message, detail: e.opts.detail ?? (e.opts.field ? { field: e.opts.field } : {}) }] });
}

const quote = (v: string): string => `"${v.replace(/["\\]/g, '')}"`;

/** `Basic realm="…"`: token mode, where the proxy itself checks the password. */
export function basicChallenge(realm: string): string {
  return `Basic realm=${quote(realm)}`;
}

/** `Bearer realm=…,service=…,scope=…[,error=…]`: plain mode, where clients fetch a token from authn first. */
export function bearerChallenge(realm: string, service: string, scopes: string[], error?: 'insufficient_scope' | 'invalid_token'): string {
  const parts = [`realm=${quote(realm)}`, `service=${quote(service)}`];
  if (scopes.length) parts.push(`scope=${quote(scopes.join(' '))}`);
  if (error) parts.push(`error=${quote(error)}`);
  return `Bearer ${parts.join(',')}`;
}
