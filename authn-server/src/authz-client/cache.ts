/**
 * The decision cache in front of `/authorized`, on by default and safe because authz's change feed
 * (feed.ts) says when to drop it. Rules:
 * - answers only while the feed is trusted (a message within 750 ms); otherwise every request asks
 *   authz, so a cached answer is at most ~1 s behind authz whatever fails;
 * - any change on the feed drops every decision (coarse on purpose: a binding, role, robot or import
 *   change may change any decision; changes are rare next to token requests);
 * - an answer fetched while the feed moved (a change, a drop) is not stored: it may predate the change;
 * - `ttlMs` bounds an entry's life even when nothing changes (`--decision-cache-ttl`); 0 = no cache;
 * - bounded in entries and bytes (common/lru.ts); only answers are cached, never failures.
 */
import type { AuthorizedRequest, AuthorizedResponse } from '../../../common/authorized.js';
import { Lru } from '../../../common/lru.js';
import type { ChangeFeed } from './feed.js';
import type { AuthzClient } from './index.js';

export const DEFAULT_DECISION_CACHE_TTL_MS = 60_000;
export const MAX_DECISION_CACHE_TTL_MS = 3_600_000;
const DECISION_CACHE_MAX_ENTRIES = 50_000;
const DECISION_CACHE_MAX_BYTES = 16 * 1024 * 1024;

export interface CacheOptions {
  ttlMs: number;
  /** No feed → no cache. */
  feed?: ChangeFeed | undefined;
  maxEntries?: number;
  maxBytes?: number;
  onLookup?: (result: 'hit' | 'miss' | 'untrusted') => void;
}

interface Entry {
  allowed: boolean;
  actions: string[];
}

const keyOf = (r: AuthorizedRequest): string => JSON.stringify([r.Account, r.Type, r.Name, r.Service, r.IP, r.Actions, r.Labels ?? null]);
// UTF-16 key and action strings plus a fixed overhead per entry (the Map's slot, the entry objects).
const sizeOf = (v: Entry, k: string): number => 2 * k.length + 96 + v.actions.reduce((n, a) => n + 2 * a.length + 16, 0);

export function withDecisionCache(inner: AuthzClient, opts: CacheOptions): AuthzClient & { size(): number; bytes(): number } {
  const feed = opts.feed;
  const passThrough = { call: inner.call.bind(inner), ping: inner.ping.bind(inner), close: inner.close.bind(inner) };
  if (opts.ttlMs <= 0 || !feed) return { ...passThrough, authorize: (r) => inner.authorize(r), size: () => 0, bytes: () => 0 };
  const lru = new Lru<string, Entry>({
    maxEntries: opts.maxEntries ?? DECISION_CACHE_MAX_ENTRIES,
    maxBytes: opts.maxBytes ?? DECISION_CACHE_MAX_BYTES,
    sizeOf,
    ttlMs: Math.min(opts.ttlMs, MAX_DECISION_CACHE_TTL_MS),
  });
  // Any change that could alter a decision drops them all; an API token (admin routes only) cannot.
  feed.subscribe((c) => {
    if (c?.kind !== 'token') lru.clear();
  });
  const lookup = (key: string): AuthorizedResponse | undefined => {
    const hit = lru.get(key);
    if (!hit) return undefined;
    opts.onLookup?.('hit');
    return { allowed: hit.allowed, actions: [...hit.actions] };
  };
  return {
    peek: (req) => (feed.trusted() ? lookup(keyOf(req)) : undefined),
    async authorize(req) {
      if (!feed.trusted()) {
        opts.onLookup?.('untrusted');
        return inner.authorize(req);
      }
      const key = keyOf(req);
      const hit = lookup(key);
      if (hit) return hit;
      opts.onLookup?.('miss');
      const { epoch, rev } = feed;
      const value: AuthorizedResponse = await inner.authorize(req);
      if (feed.epoch === epoch && feed.rev === rev && feed.trusted()) lru.set(key, { allowed: value.allowed, actions: [...value.actions] });
      return value;
    },
    ...passThrough,
    size: () => lru.size,
    bytes: () => lru.bytes,
  };
}
