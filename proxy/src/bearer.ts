/**
 * A tollgate access token presented to the proxy (`Authorization: Bearer …`), checked as registry 2.8
 * checks it: signed by one of authn's published keys with that key's algorithm, `iss` = the issuer,
 * `aud` = the guarded service (a string; a refresh token's `<issuer>/refresh` audience never passes),
 * `nbf` with the registry's 60 s leeway, `exp` with none (authn-server/src/token/verify.ts, shared with the
 * refresh grant), and an `access` claim of well-formed entries.
 * Its grant is exactly its `access`: valid until `exp` (--token-ttl), as it would be at the registry.
 */
import type { KeySet } from '../../authn-server/src/keys/load.js';
import { ACCESS_TYP, type AccessEntry } from '../../authn-server/src/token/issuer.js';
import { verifyOwnJwt } from '../../authn-server/src/token/verify.js';

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

/**
 * The token's subject and access, or a reason it is refused (a reason, not an exception: refusal is a result).
 * Signature, key, `iss`, `aud`, `nbf` and `exp` are checked by authn's own verifyOwnJwt, as its refresh grant is.
 */
export async function verifyBearer(token: string, opts: BearerOptions): Promise<BearerIdentity | { refused: string }> {
  const r = await verifyOwnJwt(token, { keys: opts.keys, issuer: opts.issuer, audience: opts.service, typ: ACCESS_TYP, requiredClaims: ['access'], now: opts.now?.() ?? new Date() });
  if ('refused' in r) return { refused: r.refused };
  const access = accessOf(r.payload.access);
  if (!access) return { refused: 'malformed access claim' };
  return { account: typeof r.payload.sub === 'string' ? r.payload.sub : '', access };
}
