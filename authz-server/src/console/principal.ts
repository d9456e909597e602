/**
 * Who a console session acts as. The shape is the Principal of contracts.md §1 (i18-authz's
 * `auth/principal.ts`; once merged, import `Principal` from there and drop this copy). A session
 * resolves its token once, at sign-in, through an injected {@link TokenResolver}; on this branch only
 * the admin token. Scoped API tokens plug in as a resolver whose `resolve` tries the admin token, then
 * i18's `tokenResolver(store, clock)`; whose `fingerprint` is `hashApiToken` (the hash the token
 * table already keeps, so storing it with the session reveals nothing new); whose `stillValid` is
 * `apiTokenByHash(fp)` still there, unexpired and of the same id (a revoke ends the sessions); and
 * whose `scopedTokens` is `listApiTokens().length > 0`.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Tokens } from '../auth/bearer.js';

export type Principal =
  | { kind: 'admin'; name: 'admin' }
  | { kind: 'scoped'; id: string; name: string; namespaces: string[]; abilities: string[] };

export interface TokenResolver {
  /** The principal a token stands for, or null (wrong token). Never throws for a wrong token. */
  resolve(token: string): Promise<Principal | null>;
  /** A one-way fingerprint of the token, kept with the session for {@link TokenResolver.stillValid}. */
  fingerprint(token: string): string;
  /**
   * Whether the token behind a session still stands (the admin token not replaced, a scoped token not
   * revoked); `fingerprint` is what {@link TokenResolver.fingerprint} gave at sign-in.
   */
  stillValid(principal: Principal, fingerprint: string): Promise<boolean>;
  /** Whether scoped tokens exist (the console then shows its Tokens page). */
  scopedTokens(): Promise<boolean>;
}

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

/** SHA-256 of the token: stored with the session, so a replaced token ends its sessions. */
export const fingerprint = (token: string): string => digest(`tollgate-console:${token}`).toString('hex');

function sameHex(a: string, b: string): boolean {
  const x = Buffer.from(a, 'hex');
  const y = Buffer.from(b, 'hex');
  return x.length === y.length && x.length > 0 && timingSafeEqual(x, y);
}

/** The resolver for the admin token alone (no scoped tokens on this build). */
export function adminTokenResolver(tokens: Tokens): TokenResolver {
  const admin = tokens.admin ? digest(tokens.admin) : undefined;
  const adminFp = tokens.admin ? fingerprint(tokens.admin) : undefined;
  return {
    async resolve(token) {
      // No admin token configured (--insecure-dev): the console cannot be signed into at all.
      if (!admin) return null;
      return timingSafeEqual(digest(token), admin) ? { kind: 'admin', name: 'admin' } : null;
    },
    fingerprint,
    async stillValid(principal, fp) {
      return principal.kind === 'admin' && adminFp !== undefined && sameHex(fp, adminFp);
    },
    async scopedTokens() {
      return false;
    },
  };
}
