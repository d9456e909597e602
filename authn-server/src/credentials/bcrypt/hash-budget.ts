/**
 * Per-client budget of uncached password checks (token bucket per client IP, IPv6 per /64). The
 * failed-login throttle counts per (account, client), so on its own one address may try its free
 * attempts against every account; this caps how many bcrypt runs one client gets at all, whatever the
 * accounts and whatever the outcome. Cached logins never spend from it (they run no bcrypt).
 *
 * Memory is bounded: at most `maxClients` buckets (least recently used dropped first); a full bucket is
 * the same as no bucket, so dropping one never hands out more than `burst`.
 */
import { clientKey } from '../../../../common/client-key.js';

export interface HashBudgetOptions {
  /** Checks a client may start at once. Default 10. */
  burst?: number;
  /** Checks per minute a client regains. Default 60. */
  perMinute?: number;
  /** Most clients tracked. Default 50 000. */
  maxClients?: number;
  now?: () => number;
}

const HASH_BUDGET_DEFAULTS = { burst: 10, perMinute: 60, maxClients: 50_000 } as const;

export interface HashBudget {
  /** Spends one check; `retryAfterSec` when the client has none left. */
  take(ip: string): { ok: true } | { ok: false; retryAfterSec: number };
}

export function createHashBudget(opts: HashBudgetOptions = {}): HashBudget {
  const burst = Math.max(1, opts.burst ?? HASH_BUDGET_DEFAULTS.burst);
  const perMs = Math.max(1, opts.perMinute ?? HASH_BUDGET_DEFAULTS.perMinute) / 60_000;
  const maxClients = Math.max(1, opts.maxClients ?? HASH_BUDGET_DEFAULTS.maxClients);
  const now = opts.now ?? Date.now;
  const buckets = new Map<string, { tokens: number; at: number }>();
  return {
    take(ip) {
      const t = now();
      const key = clientKey(ip);
      const b = buckets.get(key);
      const tokens = b ? Math.min(burst, b.tokens + (t - b.at) * perMs) : burst;
      if (tokens < 1) return { ok: false, retryAfterSec: Math.max(1, Math.ceil((1 - tokens) / perMs / 1000)) };
      buckets.delete(key);
      while (buckets.size >= maxClients) buckets.delete(buckets.keys().next().value!);
      buckets.set(key, { tokens: tokens - 1, at: t });
      return { ok: true };
    },
  };
}
