/**
 * The session cookie: `HttpOnly` (no script reads it), `SameSite=Strict` (no other site's request
 * carries it), `Path=/ui` (the REST API never sees it), `Secure` when the request came over TLS
 * (directly, or through a proxy that says so with X-Forwarded-Proto).
 */
import type { Request, Response } from 'express';

export const COOKIE = 'tollgate_console';

export function readSessionCookie(req: Request): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === COOKIE) {
      const v = part.slice(eq + 1).trim();
      return /^[A-Za-z0-9_-]{43}$/.test(v) ? v : undefined;
    }
  }
  return undefined;
}

const overTls = (req: Request): boolean => req.secure || String(req.headers['x-forwarded-proto'] ?? '').split(',')[0]?.trim() === 'https';

export function setSessionCookie(req: Request, res: Response, id: string, maxAgeMs: number): void {
  const attrs = [`${COOKIE}=${id}`, 'Path=/ui', 'HttpOnly', 'SameSite=Strict', `Max-Age=${Math.floor(maxAgeMs / 1000)}`];
  if (overTls(req)) attrs.push('Secure');
  res.append('Set-Cookie', attrs.join('; '));
}

export function clearSessionCookie(req: Request, res: Response): void {
  const attrs = [`${COOKIE}=`, 'Path=/ui', 'HttpOnly', 'SameSite=Strict', 'Max-Age=0'];
  if (overTls(req)) attrs.push('Secure');
  res.append('Set-Cookie', attrs.join('; '));
}
