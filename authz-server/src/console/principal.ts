/**
 * Who a console session acts as. The shape is the Principal of contracts.md §1 (branch i18-authz owns
 * `auth/principal.ts`; once it lands, import `Principal` from there and drop this copy). A session
 * resolves its token once, at sign-in, through an injected {@link TokenResolver}: today only the admin
 * token; scoped API tokens plug in by passing i18's async `resolveToken` as `resolve`, and their
 * `stillValid` check (token not revoked) as `stillValid`.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Tokens } from '../auth/bearer.js';

export type Principal =
  | { kind: 'admin'; name: 'admin' }
  | { kind: 'scoped'; id: string; name: string; namespaces: string[]; abilities: string[] };

export interface TokenResolver {
  /** The principal a token stands for, or null (wrong token). Never throws for a wrong token. */
  resolve(token: string): Promise<Principal | null>;
  /**
   * Whether the token behind a session still stands (the admin token not replaced, a scoped token not
   * revoked); `fingerprint` is {@link fingerprint} of the token, kept with the session.
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
    async stillValid(principal, fp) {
      return principal.kind === 'admin' && adminFp !== undefined && sameHex(fp, adminFp);
    },
    async scopedTokens() {
      return false;
    },
  };
}
