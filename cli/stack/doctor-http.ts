/** Small HTTP helpers for `tollgate doctor`: token requests shaped like the real clients send them. */

export interface Reply {
  status: number;
  headers: Headers;
  body: Record<string, unknown>;
  text: string;
}

export interface Who {
  user: string;
  password: string;
}

export const basic = (w: Who): string => `Basic ${Buffer.from(`${w.user}:${w.password}`).toString('base64')}`;

export async function send(url: string, init: RequestInit = {}): Promise<Reply> {
  const r = await fetch(url, { ...init, signal: AbortSignal.timeout(10000) });
  const text = await r.text();
  let body: Record<string, unknown> = {};
  try {
    const parsed = JSON.parse(text) as unknown;
    if (parsed && typeof parsed === 'object') body = parsed as Record<string, unknown>;
  } catch {
    /* not JSON */
  }
  return { status: r.status, headers: r.headers, body, text };
}

/** containers/image style: GET, `scope` repeated (or one space-joined value), Basic. */
export function getToken(realm: string, service: string, scopes: string[], who: Who | undefined, extra: Record<string, string> = {}): Promise<Reply> {
  const q = new URLSearchParams({ service, ...extra });
  if (who) q.set('account', who.user);
  for (const s of scopes) q.append('scope', s);
  return send(`${realm}${realm.includes('?') ? '&' : '?'}${q}`, { headers: who ? { authorization: basic(who) } : {} });
}

/** OAuth2 style (containerd, docker): POST form, space-joined scope. */
export function postToken(realm: string, fields: Record<string, string>): Promise<Reply> {
  return send(realm, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(fields).toString() });
}

export interface Challenge {
  realm: string;
  service: string;
  scope?: string;
}

/** Parses `Bearer realm="…",service="…",scope="…"`; undefined when it is not a Bearer challenge. */
export function parseChallenge(header: string | null): Challenge | undefined {
  if (!header || !/^bearer\s/i.test(header)) return undefined;
  const params: Record<string, string> = {};
  for (const m of header.matchAll(/(\w+)="([^"]*)"/g)) if (m[1] && m[2] !== undefined) params[m[1]] = m[2];
  if (!params.realm) return undefined;
  return { realm: params.realm, service: params.service ?? '', ...(params.scope ? { scope: params.scope } : {}) };
}

export interface Jwt {
  header: Record<string, unknown>;
  claims: Record<string, unknown>;
}

/** Decodes (does not verify — the registry does that) a compact JWS. */
export function decodeJwt(token: unknown): Jwt | undefined {
  if (typeof token !== 'string') return undefined;
  const [h, c] = token.split('.');
  try {
    return {
      header: JSON.parse(Buffer.from(h ?? '', 'base64url').toString()) as Record<string, unknown>,
      claims: JSON.parse(Buffer.from(c ?? '', 'base64url').toString()) as Record<string, unknown>,
    };
  } catch {
    return undefined;
  }
}

export type Access = Array<{ type: string; name: string; actions: string[] }>;

export function accessOf(jwt: Jwt | undefined): Access {
  const a = jwt?.claims.access;
  return Array.isArray(a) ? (a as Access) : [];
}

/** Access as sorted `type:name:actions` strings, for comparing two grants. */
export function accessKey(a: Access): string {
  return a
    .map((x) => `${x.type}:${x.name}:${[...x.actions].sort().join(',')}`)
    .sort()
    .join(' ');
}
