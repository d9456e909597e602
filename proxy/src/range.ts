/**
 * Range headers are checked before anything is forwarded: a blob `GET` may carry `Range: bytes=a-b`
 * (one or more ranges, RFC 9110), an upload `PATCH` `Content-Range: <start>-<end>` (distribution's form,
 * end ≥ start). Anything else is a 416 naming the header, not a question for the upstream.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { ProxyError } from './errors.js';
import type { RouteKind } from './route.js';

const RANGE = /^bytes=(?:\d{1,19}-\d{0,19}|-\d{1,19})(?:[ \t]*,[ \t]*(?:\d{1,19}-\d{0,19}|-\d{1,19})){0,15}$/;
const CONTENT_RANGE = /^(?:bytes )?(\d{1,19})-(\d{1,19})$/;

export function rangeProblem(kind: RouteKind, method: string, h: IncomingHttpHeaders): ProxyError | undefined {
  const range = h.range;
  if (range !== undefined) {
    if (!(kind === 'blob' && (method === 'GET' || method === 'HEAD'))) return new ProxyError(416, 'RANGE_INVALID', 'Range is only allowed on a blob GET', { field: 'Range' });
    if (!RANGE.test(range)) return new ProxyError(416, 'RANGE_INVALID', 'malformed Range (expected bytes=START-END)', { field: 'Range' });
    for (const part of range.slice(6).split(',')) {
      const [a, b] = part.trim().split('-');
      if (a && b && BigInt(b) < BigInt(a)) return new ProxyError(416, 'RANGE_INVALID', 'Range end before its start', { field: 'Range' });
    }
  }
  const cr = h['content-range'];
  if (cr !== undefined) {
    const m = CONTENT_RANGE.exec(cr);
    if (!(kind === 'upload' && (method === 'PATCH' || method === 'PUT'))) return new ProxyError(416, 'BLOB_UPLOAD_INVALID', 'Content-Range is only allowed on an upload PATCH or PUT', { field: 'Content-Range' });
    if (!m || BigInt(m[2]!) < BigInt(m[1]!)) return new ProxyError(416, 'BLOB_UPLOAD_INVALID', 'malformed Content-Range (expected START-END, END >= START)', { field: 'Content-Range' });
  }
  return undefined;
}
