/**
 * A tollgate access token presented to the proxy (`Authorization: Bearer …`), checked as registry 2.8
 * checks it: signed by one of authn's published keys with that key's algorithm, `iss` = the issuer,
 * `aud` = the guarded service (a string; a refresh token's `<issuer>/refresh` audience never passes),
 * `nbf` with the registry's 60 s leeway, `exp` with none, and an `access` claim of well-formed entries.
 * Its grant is exactly its `access`: valid until `exp` (--token-ttl), as it would be at the registry.
 */
import { MAX_TOKEN_BYTES } from '../../authn-server/src/credentials/limits.js';
import { decodeProtectedHeader, jwtVerify } from 'jose';
import type { KeySet } from '../../authn-server/src/keys/load.js';
import { REFRESH_TYP, type AccessEntry } from '../../authn-server/src/token/issuer.js';

export interface BearerIdentity {
  account: string;
  access: AccessEntry[];
}

export interface BearerOptions {
  keys: KeySet;
  issuer: string;
  service: string;
  now?: () => Date;
}

const NBF_LEEWAY_SEC = 60;

function accessOf(claim: unknown): AccessEntry[] | undefined {
  if (!Array.isArray(claim) || claim.length > 64) return undefined;
  const out: AccessEntry[] = [];
  for (const e of claim as unknown[]) {
    const a = e as Partial<AccessEntry> | null;
    if (!a || typeof a.type !== 'string' || typeof a.name !== 'string' || !Array.isArray(a.actions) || !a.actions.every((x) => typeof x === 'string')) return undefined;
    out.push({ type: a.type, name: a.name, actions: a.actions });
  }
  return out;
}

/** The token's subject and access, or a reason it is refused (a reason, not an exception: refusal is a result). */
export async function verifyBearer(token: string, opts: BearerOptions): Promise<BearerIdentity | { refused: string }> {
  if (token.length > MAX_TOKEN_BYTES) return { refused: 'token too long' };
  let kid: unknown;
  let typ: unknown;
  try {
    ({ kid, typ } = decodeProtectedHeader(token));
  } catch {
    return { refused: 'not a JWT' };
  }
  if (typ === REFRESH_TYP) return { refused: 'a refresh token is not an access token' };
  const key = opts.keys.published.find((k) => k.kid === kid);
  if (!key) return { refused: 'signed by an unknown key' };
  const now = opts.now?.() ?? new Date();
  try {
    const { payload } = await jwtVerify(token, key.publicKey, {
      algorithms: [key.alg],
      issuer: opts.issuer,
      audience: opts.service,
      currentDate: now,
      clockTolerance: NBF_LEEWAY_SEC,
      requiredClaims: ['exp', 'access'],
    });
    if (typeof payload.aud !== 'string') return { refused: 'aud must be a string' };
    if ((payload.exp as number) <= Math.floor(now.getTime() / 1000)) return { refused: 'expired' };
    const access = accessOf(payload.access);
    if (!access) return { refused: 'malformed access claim' };
    return { account: typeof payload.sub === 'string' ? payload.sub : '', access };
  } catch (e) {
    return { refused: (e as Error).message.slice(0, 200) };
  }
}
