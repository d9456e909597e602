/**
 * The one resolver of presented tokens, shared by the REST API's bearer header (auth/admin-auth.ts) and
 * the console's sign-in and sessions (console/principal.ts): the admin token (SHA-256 digests compared in
 * constant time, as auth/bearer.ts), else a live scoped API token found by its SHA-256 — one indexed
 * lookup, no cache, so a revoke on any replica is effective on the next request everywhere. Unknown,
 * revoked, expired or misshapen tokens resolve to null.
 * createApp makes one per app, so every use of a token, REST or console, goes through one last_used_at
 * throttle: written at most once per LAST_USED_RESOLUTION_MS per token and replica (a script polling
 * every second should not turn every read into a write); the listed time is accurate to that minute.
 */
import { timingSafeEqual } from 'node:crypto';
import { digest, type Tokens } from '../auth/bearer.js';
import { ADMIN_PRINCIPAL, type Principal, type ScopedPrincipal } from '../auth/principal.js';
import { hashApiToken, looksLikeApiToken } from './secret.js';
import { isExpired, type ApiTokenStore } from './store.js';

export interface PrincipalResolver {
  /** The admin token → the admin principal; a live API token → its scoped principal; else null. */
  resolve(token: string): Promise<Principal | null>;
  /** A live API token by the hash its row keeps (what a console session remembers); counts as a use. */
  byHash(hash: string): Promise<ScopedPrincipal | null>;
}

const LAST_USED_RESOLUTION_MS = 60_000;
const TOUCHED_MAX = 10_000;

export function principalResolver(tokens: Pick<Tokens, 'admin'>, store: ApiTokenStore, clock: () => Date): PrincipalResolver {
  // No admin token configured (--insecure-dev): nothing resolves to the admin (admin-auth.ts opens its routes itself).
  const adminDigest = tokens.admin ? digest(tokens.admin) : undefined;
  const touched = new Map<string, number>();

  async function byHash(hash: string): Promise<ScopedPrincipal | null> {
    const rec = await store.apiTokenByHash(hash);
    if (!rec) return null;
    const now = clock().getTime();
    if (isExpired(rec, now)) return null;
    const last = Math.max(touched.get(rec.id) ?? 0, rec.last_used_at ? Date.parse(rec.last_used_at) : 0);
    if (now - last >= LAST_USED_RESOLUTION_MS) {
      if (touched.size >= TOUCHED_MAX) touched.clear();
      // Set before the write: a concurrent use of the same token (REST or console) sees it and writes nothing.
      touched.set(rec.id, now);
      // Bookkeeping only: a failed write must not refuse a valid caller.
      await store.touchApiToken(rec.id, new Date(now).toISOString()).catch(() => undefined);
    }
    return { kind: 'scoped', id: rec.id, name: rec.name, namespaces: rec.namespaces, abilities: rec.abilities };
  }

  return {
    async resolve(token) {
      if (adminDigest && timingSafeEqual(digest(token), adminDigest)) return ADMIN_PRINCIPAL;
      return looksLikeApiToken(token) ? byHash(hashApiToken(token)) : null;
    },
    byHash,
  };
}
