/**
 * CSRF, three layers: the cookie is SameSite=Strict; a request whose Origin is not this host, or
 * whose Sec-Fetch-Site says another site, is refused; and every state-changing request must carry the
 * session's CSRF token in `X-CSRF-Token` (only a page of this origin can read it, from the session API).
 */
import type { Request } from 'express';
import { safeEqual } from '../../../common/secret.js';
import { AuthzError } from '../errors.js';

export const CSRF_HEADER = 'x-csrf-token';
const SAFE = new Set(['GET', 'HEAD', 'OPTIONS']);

export const isSafeMethod = (method: string): boolean => SAFE.has(method);

/** 403 when the request comes from another origin (checked for sign-in too: no login CSRF). */
export function assertSameOrigin(req: Request): void {
  const site = req.headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin' && site !== 'none') throw new AuthzError(403, 'forbidden', 'cross-site request refused', 'origin');
  const origin = req.headers.origin;
  if (origin === undefined) return;
  let host: string | undefined;
  try {
    host = new URL(origin).host;
  } catch {
    host = undefined;
  }
  if (host === undefined || host !== req.headers.host) throw new AuthzError(403, 'forbidden', 'cross-origin request refused', 'origin');
}

/** 403 unless the request carries the session's CSRF token (compared in constant time). */
export function assertCsrfToken(req: Request, expected: string): void {
  const got = req.headers[CSRF_HEADER];
  if (typeof got !== 'string' || !safeEqual(got, expected)) {
    throw new AuthzError(403, 'forbidden', 'missing or wrong X-CSRF-Token header (reload the console)', 'csrf');
  }
}
