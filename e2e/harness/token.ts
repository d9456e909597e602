/** Direct token requests to authn, the way containers/image sends them (GET, repeated scope, Basic). */
import { SERVICE } from './stack.js';

export interface TokenReply {
  status: number;
  body: Record<string, unknown>;
  token: string | undefined;
}

export async function getToken(authnUrl: string, creds: { user: string; password: string } | undefined, scopes: string[]): Promise<TokenReply> {
  const q = new URLSearchParams({ service: SERVICE });
  if (creds) q.set('account', creds.user);
  for (const s of scopes) q.append('scope', s);
  const headers: Record<string, string> = creds ? { authorization: `Basic ${Buffer.from(`${creds.user}:${creds.password}`).toString('base64')}` } : {};
  const r = await fetch(`${authnUrl}/auth?${q}`, { headers });
  const text = await r.text();
  let body: Record<string, unknown> = {};
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    body = { raw: text };
  }
  const token = typeof body.token === 'string' ? body.token : typeof body.access_token === 'string' ? body.access_token : undefined;
  return { status: r.status, body, token };
}

/** The `access` claim of a JWT (not verified: the registry is the one that verifies). */
export function accessOf(jwt: string): Array<{ type: string; name: string; actions: string[] }> {
  const payload = JSON.parse(Buffer.from(jwt.split('.')[1] ?? '', 'base64url').toString()) as { access?: Array<{ type: string; name: string; actions: string[] }> };
  return payload.access ?? [];
}
