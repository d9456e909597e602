/**
 * Optional decision cache in front of `/authorized` (off by default; TTL ≤ 5 s). Only answers are
 * cached, never failures, so an outage is never hidden; the short TTL bounds how long a removed
 * binding keeps working. Bounded size: the oldest entries go first.
 */
import type { AuthorizedRequest, AuthorizedResponse } from '../../../common/authorized.js';
import type { AuthzClient } from './index.js';

export const MAX_DECISION_CACHE_TTL_MS = 5000;

export interface CacheOptions {
  ttlMs: number;
  maxEntries?: number;
  now?: () => number;
  onHit?: () => void;
}

export function withDecisionCache(inner: AuthzClient, opts: CacheOptions): AuthzClient {
  if (opts.ttlMs <= 0) return inner;
  const ttl = Math.min(opts.ttlMs, MAX_DECISION_CACHE_TTL_MS);
  const max = opts.maxEntries ?? 10000;
  const now = opts.now ?? Date.now;
  const entries = new Map<string, { at: number; value: AuthorizedResponse }>();
  return {
    async authorize(req: AuthorizedRequest) {
      const key = JSON.stringify([req.Account, req.Type, req.Name, req.Service, req.IP, req.Actions, req.Labels ?? null]);
      const hit = entries.get(key);
      if (hit && now() - hit.at < ttl) {
        opts.onHit?.();
        return { allowed: hit.value.allowed, actions: [...hit.value.actions] };
      }
      const value = await inner.authorize(req);
      entries.delete(key);
      entries.set(key, { at: now(), value });
      if (entries.size > max) entries.delete(entries.keys().next().value as string);
      return value;
    },
    ping: () => inner.ping(),
    close: () => inner.close(),
  };
}
