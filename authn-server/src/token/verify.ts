/**
 * The one check of a JWT this authn signed, shared by the refresh grant (issuer.ts `verifyRefresh`) and the
 * proxy's bearer tokens (proxy/src/bearer.ts) so the two cannot drift. Rules, as registry 2.8 checks a token:
 * - at most MAX_TOKEN_BYTES, a JWS whose header names the expected `typ`;
 * - signed by one of the published keys (by `kid`), with that key's own algorithm only (no `none`, no HS256
 *   keyed with a public key);
 * - `iss` = the issuer, `aud` = the expected audience and a plain string (an array is "malformed" on 2.8);
 * - `nbf` with the registry's 60 s leeway (another replica's clock may run ahead), `exp` with none (the
 *   token TTLs are exact).
 * A refusal is a result with a reason; `malformed` marks input that is not a JWT of ours at all.
 */
import { decodeProtectedHeader, errors as joseErrors, jwtVerify, type JWTPayload } from 'jose';
import { MAX_TOKEN_BYTES } from '../credentials/limits.js';
import type { KeySet } from '../keys/load.js';

export interface OwnJwtCheck {
  keys: KeySet;
  issuer: string;
  audience: string;
  /** The header `typ` this kind of token is signed with (issuer.ts: ACCESS_TYP or REFRESH_TYP). */
  typ: string;
  /** Claims beyond iss/aud/exp that must be present. */
  requiredClaims: string[];
  now: Date;
}

export type OwnJwt = { payload: JWTPayload } | { refused: string; malformed?: true; claim?: string };

const NBF_LEEWAY_SEC = 60;

export async function verifyOwnJwt(token: string, check: OwnJwtCheck): Promise<OwnJwt> {
  if (token.length > MAX_TOKEN_BYTES) return { refused: 'too long', malformed: true };
  let kid: unknown;
  let typ: unknown;
  try {
    ({ kid, typ } = decodeProtectedHeader(token));
  } catch {
    return { refused: 'not a JWT', malformed: true };
  }
  if (typ !== check.typ) return { refused: `"typ" is ${JSON.stringify(String(typ)).slice(0, 64)}, not "${check.typ}"`, claim: 'typ' };
  const key = check.keys.published.find((k) => k.kid === kid);
  if (!key) return { refused: 'signed by an unknown key' };
  try {
    const { payload } = await jwtVerify(token, key.publicKey, {
      algorithms: [key.alg],
      issuer: check.issuer,
      audience: check.audience,
      currentDate: check.now,
      clockTolerance: NBF_LEEWAY_SEC,
      requiredClaims: ['exp', ...check.requiredClaims],
    });
    // jose allowed exp the same leeway as nbf; there is none after exp.
    if ((payload.exp as number) <= Math.floor(check.now.getTime() / 1000)) return { refused: 'expired' };
    if (typeof payload.aud !== 'string') return { refused: 'aud must be a string', claim: 'aud' };
    return { payload };
  } catch (e) {
    if (e instanceof joseErrors.JWTExpired) return { refused: 'expired' };
    if (e instanceof joseErrors.JWSSignatureVerificationFailed) return { refused: 'bad signature' };
    if (e instanceof joseErrors.JWTClaimValidationFailed) return { refused: `claim "${e.claim}" is not valid`, claim: e.claim };
    if (e instanceof joseErrors.JOSEError) return { refused: e.message.slice(0, 200) };
    throw e;
  }
}
