/**
 * Who a console session acts as: the Principal of the REST API (auth/principal.ts), so a scoped API
 * token's limits apply to the console exactly as to its bearer calls. A session resolves its token once,
 * at sign-in, through a {@link TokenResolver}: the admin token, else a live scoped API token
 * (tokens/resolve.ts). The session keeps a one-way fingerprint of the token: for an API token the hash the
 * token table already keeps (storing it reveals nothing new), so a revoke, an expiry or a replaced admin
 * token ends the sessions made with it.
 */
import { timingSafeEqual } from 'node:crypto';
import { digest, type Tokens } from '../auth/bearer.js';
import { ADMIN_PRINCIPAL, type Principal } from '../auth/principal.js';
import { tokenResolver } from '../tokens/resolve.js';
import { hashApiToken, looksLikeApiToken } from '../tokens/secret.js';
import { isExpired, type ApiTokenStore } from '../tokens/store.js';

export type { Principal };

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
}


/** SHA-256 of the token: stored with the session, so a replaced token ends its sessions. */
export const fingerprint = (token: string): string => digest(`tollgate-console:${token}`).toString('hex');

function sameHex(a: string, b: string): boolean {
  const x = Buffer.from(a, 'hex');
  const y = Buffer.from(b, 'hex');
  return x.length === y.length && x.length > 0 && timingSafeEqual(x, y);
}

/** The resolver for the admin token alone (a part of the console's; tests sign in with it). */
export function adminTokenResolver(tokens: Tokens): TokenResolver {
  const admin = tokens.admin ? digest(tokens.admin) : undefined;
  const adminFp = tokens.admin ? fingerprint(tokens.admin) : undefined;
  return {
    async resolve(token) {
      // No admin token configured (--insecure-dev): the console cannot be signed into at all.
      if (!admin) return null;
      return timingSafeEqual(digest(token), admin) ? ADMIN_PRINCIPAL : null;
    },
    fingerprint,
    async stillValid(principal, fp) {
      return principal.kind === 'admin' && adminFp !== undefined && sameHex(fp, adminFp);
    },
  };
}

/** The console's resolver: the admin token, then scoped API tokens from the store. */
export function consoleTokenResolver(tokens: Tokens, store: ApiTokenStore, clock: () => Date): TokenResolver {
  const admin = adminTokenResolver(tokens);
  const scoped = tokenResolver(store, clock);
  return {
    async resolve(token) {
      return (await admin.resolve(token)) ?? (await scoped(token));
    },
    fingerprint: (token) => (looksLikeApiToken(token) ? hashApiToken(token) : fingerprint(token)),
    async stillValid(principal, fp) {
      if (principal.kind === 'admin') return admin.stillValid(principal, fp);
      const rec = await store.apiTokenByHash(fp);
      return rec !== undefined && rec.id === principal.id && !isExpired(rec, clock().getTime());
    },
  };
}
