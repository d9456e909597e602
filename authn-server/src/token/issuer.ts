/**
 * Signs registry access tokens and refresh tokens, and verifies refresh tokens.
 *
 * Access token (registry 2.8 + 3.x): header `alg` ES256|RS256, `typ: JWT`, `kid`, `x5c` (unless
 * disabled); claims `iss`, `sub`, `aud` (a string), integer `exp`/`nbf`/`iat`, `jti` (128 random
 * bits), `access`.
 * Refresh token: same key, but `typ: tollgate-refresh+jwt`, `aud` = `<issuer>/refresh`, `tgt:
 * "refresh"`, no `access`, `cid` (the credential fingerprint) and `svc` (the service it was issued for:
 * it is refused for any other). A registry rejects it (wrong
 * aud); an access token is rejected here (wrong typ/aud/tgt).
 *
 * Signing uses node:crypto directly (JWS compact serialization by hand, header encoded once per key):
 * it is the hot path, and jose's WebCrypto signing costs ~4× more CPU per token. The signatures of one
 * event-loop turn are made together (sign-batch.ts says why). ES256 signatures are
 * raw r||s (`ieee-p1363`), RS256 PKCS#1 v1.5 — exactly what registry 2.8 demands. jose verifies, through
 * verify.ts (the check the proxy's bearer tokens share).
 */
import { randomBytes, sign as cryptoSign } from 'node:crypto';
import { AuthnError } from '../errors.js';
import type { KeySet } from '../keys/load.js';
import { batchedSigner } from './sign-batch.js';
import { verifyOwnJwt } from './verify.js';

export interface AccessEntry {
  type: string;
  class?: string;
  name: string;
  actions: string[];
}

export interface IssuedToken {
  token: string;
  jti: string;
  issuedAt: Date;
  expiresIn: number;
}

export interface TokenIssuer {
  issueAccess(p: { sub: string; aud: string; access: AccessEntry[] }): Promise<IssuedToken>;
  /**
   * A refresh token expiring after --refresh-ttl, or at `notAfter` (epoch seconds) when that is sooner: it
   * never outlives the identity it was issued for. `null` when `notAfter` leaves less than a second. It
   * carries the `service` it was issued for.
   */
  issueRefresh(p: { sub: string; credentialId: string; notAfter?: number | undefined; service: string }): Promise<IssuedToken | null>;
  /**
   * The refresh token's subject and credential id, or a 4xx AuthnError saying why it is refused — also
   * when it was issued for another service than `service`. A token from before `svc` existed is accepted
   * only when `singleService` (it can then only have been issued for that one).
   */
  verifyRefresh(token: string, service: string, singleService: boolean): Promise<{ sub: string; credentialId: string }>;
}

export interface IssuerOptions {
  keys: KeySet;
  issuer: string;
  tokenTtlSec: number;
  refreshTtlSec: number;
  clock?: () => Date;
}

/** Header `typ` of an access token (what registries expect) and of a refresh token (never accepted as access). */
export const ACCESS_TYP = 'JWT';
const REFRESH_TYP = 'tollgate-refresh+jwt';

// jti: 128 random bits. Drawn from a refilled 4 KiB pool: one randomBytes call per 256 tokens, not per token.
let pool = Buffer.alloc(0);
let poolAt = 0;
function newJti(): string {
  if (poolAt + 16 > pool.length) {
    pool = randomBytes(4096);
    poolAt = 0;
  }
  poolAt += 16;
  return pool.subarray(poolAt - 16, poolAt).toString('base64url');
}
const b64url = (text: string): string => Buffer.from(text, 'utf8').toString('base64url');

function refused(message: string, status = 401): AuthnError {
  return new AuthnError(status, 'invalid_grant', `refresh_token refused: ${message}`, { field: 'refresh_token' });
}

export function createTokenIssuer(opts: IssuerOptions): TokenIssuer {
  const clock = opts.clock ?? (() => new Date());
  const { signing } = opts.keys;
  const refreshAud = `${opts.issuer}/refresh`;
  const encodedHeader = (typ: string): string =>
    b64url(JSON.stringify({ alg: signing.alg, typ, kid: signing.kid, ...(signing.includeX5c && signing.x5c.length ? { x5c: signing.x5c } : {}) }));
  const headers = { [ACCESS_TYP]: encodedHeader(ACCESS_TYP), [REFRESH_TYP]: encodedHeader(REFRESH_TYP) };
  const keyInput = signing.alg === 'ES256' ? { key: signing.privateKey, dsaEncoding: 'ieee-p1363' as const } : signing.privateKey;
  const signed = batchedSigner((input) => cryptoSign('sha256', input, keyInput));

  async function sign(typ: keyof typeof headers, claims: Record<string, unknown>, ttl: number): Promise<IssuedToken> {
    const issuedAt = clock();
    const iat = Math.floor(issuedAt.getTime() / 1000);
    const jti = newJti();
    const input = `${headers[typ]}.${b64url(JSON.stringify({ iss: opts.issuer, ...claims, iat, nbf: iat, exp: iat + ttl, jti }))}`;
    return { token: `${input}.${await signed(input)}`, jti, issuedAt, expiresIn: ttl };
  }

  return {
    issueAccess: ({ sub, aud, access }) => sign(ACCESS_TYP, { sub, aud, access }, opts.tokenTtlSec),
    async issueRefresh({ sub, credentialId, notAfter, service }) {
      const ttl = notAfter === undefined ? opts.refreshTtlSec : Math.min(opts.refreshTtlSec, Math.floor(notAfter) - Math.floor(clock().getTime() / 1000));
      if (ttl < 1) return null;
      return sign(REFRESH_TYP, { sub, aud: refreshAud, tgt: 'refresh', cid: credentialId, svc: service }, ttl);
    },
    async verifyRefresh(token, service, singleService) {
      const r = await verifyOwnJwt(token, { keys: opts.keys, issuer: opts.issuer, audience: refreshAud, typ: REFRESH_TYP, requiredClaims: ['sub', 'cid', 'tgt'], now: clock() });
      if ('refused' in r) throw refused(r.claim === undefined ? r.refused : `${r.refused} (not a refresh token of this server?)`, r.malformed ? 400 : 401);
      const { payload } = r;
      if (payload.tgt !== 'refresh') throw refused('not a refresh token');
      if (typeof payload.sub !== 'string' || typeof payload.cid !== 'string' || payload.sub === '') throw refused('missing subject');
      if (payload.svc === undefined ? !singleService : payload.svc !== service) throw refused(`issued for another service than "${service.slice(0, 128)}"`);
      return { sub: payload.sub, credentialId: payload.cid };
    },
  };
}
