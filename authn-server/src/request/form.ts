/**
 * Strict `application/x-www-form-urlencoded` parsing for query strings and bodies. Unlike
 * querystring/URLSearchParams, invalid UTF-8 is an error (400 naming the field) rather than a
 * silent U+FFFD, and the number of fields is bounded before anything else runs.
 */
import { AuthnError } from '../errors.js';

const MAX_FIELDS = 256;
export type Fields = Map<string, string[]>;

const utf8 = new TextDecoder('utf-8', { fatal: true });

const hexValue = (c: number): number => (c >= 48 && c <= 57 ? c - 48 : c >= 65 && c <= 70 ? c - 55 : c >= 97 && c <= 102 ? c - 87 : -1);

/**
 * Percent-decoding into bytes, then strict UTF-8. Clients percent-encode every scope
 * (`repository%3Ateam-a%2Fapp%3Apull`), so this runs on nearly every token request: one buffer, no
 * per-character allocation. Characters that arrive unencoded count as their UTF-8 bytes.
 */
function decode(part: string, what: string): string {
  const text = part.includes('+') ? part.replace(/\+/g, ' ') : part;
  if (!text.includes('%')) return text;
  const bytes = Buffer.allocUnsafe(Buffer.byteLength(text, 'utf8'));
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x25) {
      const hi = i + 2 < text.length ? hexValue(text.charCodeAt(i + 1)) : -1;
      const lo = hi < 0 ? -1 : hexValue(text.charCodeAt(i + 2));
      if (lo < 0) throw new AuthnError(400, 'invalid_request', `${what}: bad percent-encoding`, { field: what });
      bytes[n++] = hi * 16 + lo;
      i += 2;
    } else if (c < 0x80) {
      bytes[n++] = c;
    } else {
      const cp = text.codePointAt(i)!;
      n += bytes.write(String.fromCodePoint(cp), n, 'utf8');
      if (cp > 0xffff) i++;
    }
  }
  try {
    return utf8.decode(bytes.subarray(0, n));
  } catch {
    throw new AuthnError(400, 'invalid_request', `${what} is not valid UTF-8`, { field: what });
  }
}

/** Parses `a=1&b=2&b=3`; `source` names the origin in messages ("query" or "body"). */
export function parseForm(text: string, source: string): Fields {
  const out: Fields = new Map();
  if (!text) return out;
  const pairs = text.split('&');
  if (pairs.length > MAX_FIELDS) throw new AuthnError(400, 'invalid_request', `too many fields in the ${source} (at most ${MAX_FIELDS})`, { field: source });
  for (const pair of pairs) {
    if (!pair) continue;
    const eq = pair.indexOf('=');
    const key = decode(eq < 0 ? pair : pair.slice(0, eq), source);
    const value = eq < 0 ? '' : decode(pair.slice(eq + 1), key);
    const list = out.get(key);
    if (list) list.push(value);
    else out.set(key, [value]);
  }
  return out;
}

/**
 * Credentials are only read from the body (RFC 6749 keeps them out of URLs, which proxies log). The
 * user name goes with its password: a URL naming the user must not pair with a body or Basic header.
 */
const BODY_ONLY = new Set(['username', 'password', 'refresh_token']);

/** A POST's URL query without the body-only fields (a POST without a form body has only its URL). */
export function queryForPost(query: Fields): Fields {
  for (const key of BODY_ONLY) query.delete(key);
  return query;
}

/**
 * POST fields plus the URL's query (as Go's ParseForm, which docker_auth uses): a realm configured with a
 * query string keeps working for OAuth POSTs. `scope` values from both count; for any other field the
 * body wins; `username`, `password` and `refresh_token` in the query are ignored.
 */
export function withQuery(body: Fields, query: Fields): Fields {
  for (const [key, values] of query) {
    if (BODY_ONLY.has(key)) continue;
    if (key === 'scope') body.set(key, [...(body.get(key) ?? []), ...values]);
    else if (!body.has(key)) body.set(key, values);
  }
  return body;
}

/** Raw body bytes → text, refusing invalid UTF-8 (the form is then percent-decoded). */
export function bodyText(body: unknown): string {
  if (!Buffer.isBuffer(body)) return '';
  try {
    return utf8.decode(body);
  } catch {
    throw new AuthnError(400, 'invalid_request', 'request body is not valid UTF-8', { field: 'body' });
  }
}

/** The single value of a field; a repeated field (other than `scope`) is ambiguous → 400. */
export function single(fields: Fields, name: string): string | undefined {
  const v = fields.get(name);
  if (!v) return undefined;
  if (v.length > 1) throw new AuthnError(400, 'invalid_request', `field "${name}" given ${v.length} times`, { field: name });
  return v[0];
}
