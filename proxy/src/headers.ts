/**
 * Which headers cross the proxy. Upstream-bound: the client's, minus hop-by-hop headers, `Host`,
 * `Authorization` (the proxy sets its own, or none), `Expect` and every `X-Forwarded-*`/`Forwarded`
 * (the registry must not build URLs from what a client wrote). Client-bound: the registry's, minus
 * hop-by-hop headers and `WWW-Authenticate`, with `Location` and `Link` rewritten from the upstream's
 * origin to a path on the proxy — the upstream address never reaches a client.
 */
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';

const HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'proxy-authenticate', 'proxy-authorization', 'te', 'trailer', 'transfer-encoding', 'upgrade']);
const NOT_UPSTREAM = new Set(['host', 'authorization', 'expect', 'forwarded', 'x-forwarded-for', 'x-forwarded-host', 'x-forwarded-proto', 'x-forwarded-port', 'x-real-ip']);
const NOT_CLIENT = new Set(['www-authenticate']);

/** Also drops headers named in `Connection` (they are hop-by-hop too, RFC 9110 §7.6.1). */
function connectionNamed(h: IncomingHttpHeaders): Set<string> {
  const c = h.connection;
  return new Set(c ? c.toLowerCase().split(',').map((s) => s.trim()) : []);
}

export function upstreamHeaders(h: IncomingHttpHeaders, host: string, authorization: string | undefined): OutgoingHttpHeaders {
  const named = connectionNamed(h);
  const out: OutgoingHttpHeaders = {};
  for (const [k, v] of Object.entries(h)) {
    if (v === undefined || HOP.has(k) || NOT_UPSTREAM.has(k) || named.has(k)) continue;
    out[k] = v;
  }
  out.host = host;
  if (authorization) out.authorization = authorization;
  return out;
}

/** `http://upstream:5000/v2/x?y` → `/v2/x?y`; other origins (a storage redirect) and relative values stay. */
export function rewriteLocation(value: string, upstream: URL): string {
  if (!/^https?:\/\//i.test(value)) return value;
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    return value;
  }
  return u.origin === upstream.origin ? `${u.pathname}${u.search}` : value;
}

/** `<http://upstream/v2/_catalog?last=a&n=1>; rel="next"` → `</v2/_catalog?last=a&n=1>; rel="next"`. */
export function rewriteLink(value: string, upstream: URL): string {
  return value.replace(/<([^>]*)>/g, (_m, url: string) => `<${rewriteLocation(url, upstream)}>`);
}

export function clientHeaders(h: IncomingHttpHeaders, upstream: URL): OutgoingHttpHeaders {
  const named = connectionNamed(h);
  const out: OutgoingHttpHeaders = {};
  for (const [k, v] of Object.entries(h)) {
    if (v === undefined || HOP.has(k) || NOT_CLIENT.has(k) || named.has(k)) continue;
    if (k === 'location' && typeof v === 'string') out[k] = rewriteLocation(v, upstream);
    else if (k === 'link') out[k] = Array.isArray(v) ? v.map((x) => rewriteLink(x, upstream)) : rewriteLink(v, upstream);
    else out[k] = v;
  }
  return out;
}
