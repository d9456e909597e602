/**
 * Who a console session acts as: the Principal of the REST API (auth/principal.ts), so a scoped API
 * token's limits apply to the console exactly as to its bearer calls. Tokens are resolved by the app's one
 * resolver (tokens/resolve.ts), the REST API's too, so a console session's use of an API token counts as
 * a use (`last_used_at`) under the same throttle. The session keeps a one-way fingerprint of the token:
 * for an API token the hash the token table already keeps (storing it reveals nothing new), so a revoke,
 * an expiry or a replaced admin token ends the sessions made with it.
 */
import { safeEqual } from '../../../common/secret.js';
import { digest, type Tokens } from '../auth/bearer.js';
import type { Principal } from '../auth/principal.js';
import type { PrincipalResolver } from '../tokens/resolve.js';
import { hashApiToken, looksLikeApiToken } from '../tokens/secret.js';

export type { Principal };

/** `resolve`: the principal a token stands for, or null (wrong token); the app's own (tokens/resolve.ts). */
export interface TokenResolver extends Pick<PrincipalResolver, 'resolve'> {
  /** A one-way fingerprint of the token, kept with the session for {@link TokenResolver.stillValid}. */
  fingerprint(token: string): string;
  /**
   * Whether the token behind a session still stands (the admin token not replaced, a scoped token not
   * revoked); `fingerprint` is what {@link TokenResolver.fingerprint} gave at sign-in.
   */
  stillValid(principal: Principal, fingerprint: string): Promise<boolean>;
}

/** SHA-256 of the token: stored with the session, so a replaced token ends its sessions. */
const fingerprint = (token: string): string => digest(`tollgate-console:${token}`).toString('hex');

/** The console's resolver over the app's {@link PrincipalResolver}: the admin token, then scoped API tokens. */
export function consoleTokenResolver(tokens: Pick<Tokens, 'admin'>, principals: PrincipalResolver): TokenResolver {
  const adminFp = tokens.admin ? fingerprint(tokens.admin) : undefined;
  return {
    resolve: principals.resolve,
    fingerprint: (token) => (looksLikeApiToken(token) ? hashApiToken(token) : fingerprint(token)),
    async stillValid(principal, fp) {
      if (principal.kind === 'admin') return adminFp !== undefined && safeEqual(fp, adminFp);
      return (await principals.byHash(fp))?.id === principal.id;
    },
  };
}
