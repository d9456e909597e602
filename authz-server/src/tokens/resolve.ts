/**
 * `resolveToken`: a bearer token that is not the admin token → the scoped Principal of a live API token,
 * or null (unknown, revoked, expired, or not shaped like one). One indexed lookup by the token's SHA-256;
 * no cache, so a revoke on any replica is effective on the next request everywhere.
 * last_used_at is written at most once a minute per token (admin calls are rare, but a script polling
 * every second should not turn every read into a write); the listed time is accurate to that minute.
 */
import type { Principal } from '../auth/principal.js';
import { hashApiToken, looksLikeApiToken } from './secret.js';
import { isExpired, type ApiTokenStore } from './store.js';

export type ResolveToken = (token: string) => Promise<Principal | null>;

export const LAST_USED_RESOLUTION_MS = 60_000;
const TOUCHED_MAX = 10_000;

export function tokenResolver(store: ApiTokenStore, clock: () => Date): ResolveToken {
  const touched = new Map<string, number>();
  return async (token) => {
    if (!looksLikeApiToken(token)) return null;
    const rec = await store.apiTokenByHash(hashApiToken(token));
    if (!rec) return null;
    const now = clock().getTime();
    if (isExpired(rec, now)) return null;
    const last = Math.max(touched.get(rec.id) ?? 0, rec.last_used_at ? Date.parse(rec.last_used_at) : 0);
    if (now - last >= LAST_USED_RESOLUTION_MS) {
      if (touched.size >= TOUCHED_MAX) touched.clear();
      touched.set(rec.id, now);
      // Bookkeeping only: a failed write must not refuse a valid caller.
      await store.touchApiToken(rec.id, new Date(now).toISOString()).catch(() => undefined);
    }
    return { kind: 'scoped', id: rec.id, name: rec.name, namespaces: rec.namespaces, abilities: rec.abilities };
  };
}
