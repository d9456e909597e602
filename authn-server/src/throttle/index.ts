/**
 * Failed-login throttle per (account, client IP).
 *
 * - A pair gets exactly `freeAttempts` failures for free: the failure that uses up the last free one
 *   blocks the pair for `baseDelayMs`, and each further one for `baseDelayMs * 2^n` (n = failures beyond
 *   the free ones), capped at `maxDelayMs`. So a burst sees `freeAttempts` verdicts, then 429.
 * - A success resets the pair. Other pairs are never touched, so an attacker hammering an account from one
 *   address cannot lock its owner out from another. IPv6 clients count per /64 (one host usually owns a
 *   whole /64, so per-address counting would give it 2^64 × the free attempts).
 * - Memory is bounded: a pair is forgotten `forgetAfterMs` after its last failure once it is no longer
 *   blocked, and at most `maxEntries` pairs are tracked (least recently failed evicted first).
 */
import type { LoginThrottle } from '../credentials/backend.js';
import { clientKey } from '../../../common/client-key.js';

export interface ThrottleOptions {
  /** Failures allowed before any delay. Default 5. */
  freeAttempts?: number;
  /** Delay after the first failure beyond the free ones (ms); doubles each time. Default 1000. */
  baseDelayMs?: number;
  /** Longest delay (ms). Default 300 000 (5 min). */
  maxDelayMs?: number;
  /** A pair with no failure for this long (ms) starts over. Default 15 min (at least `maxDelayMs`). */
  forgetAfterMs?: number;
  /** Most (account, IP) pairs tracked. Default 50 000 (a few MB). */
  maxEntries?: number;
  now?: () => number;
}

const THROTTLE_DEFAULTS = { freeAttempts: 5, baseDelayMs: 1000, maxDelayMs: 300_000, forgetAfterMs: 900_000, maxEntries: 50_000 } as const;

interface Entry {
  failures: number;
  lastFailureAt: number;
  blockedUntil: number;
}

export interface Throttle extends LoginThrottle {
  /** Pairs currently tracked (tests, metrics). */
  readonly size: number;
}

export function createLoginThrottle(opts: ThrottleOptions = {}): Throttle {
  const free = Math.max(0, opts.freeAttempts ?? THROTTLE_DEFAULTS.freeAttempts);
  const base = Math.max(1, opts.baseDelayMs ?? THROTTLE_DEFAULTS.baseDelayMs);
  const max = Math.max(base, opts.maxDelayMs ?? THROTTLE_DEFAULTS.maxDelayMs);
  const forgetAfter = Math.max(max, opts.forgetAfterMs ?? THROTTLE_DEFAULTS.forgetAfterMs);
  const maxEntries = Math.max(1, opts.maxEntries ?? THROTTLE_DEFAULTS.maxEntries);
  const now = opts.now ?? Date.now;
  // Map order = order of last failure (entries are re-inserted on each failure), so the first is the stalest.
  const entries = new Map<string, Entry>();
  const key = (account: string, ip: string): string => `${account}\0${clientKey(ip)}`;
  const stale = (e: Entry, t: number): boolean => e.blockedUntil <= t && t - e.lastFailureAt >= forgetAfter;

  function sweep(t: number): void {
    for (const [k, e] of entries) {
      if (!stale(e, t)) break;
      entries.delete(k);
    }
    while (entries.size >= maxEntries) {
      const oldest = entries.keys().next();
      if (oldest.done) break;
      entries.delete(oldest.value);
    }
  }

  return {
    get size() {
      return entries.size;
    },
    check(account, ip) {
      const t = now();
      const e = entries.get(key(account, ip));
      if (!e || e.blockedUntil <= t) return { allowed: true };
      return { allowed: false, retryAfterSec: Math.max(1, Math.ceil((e.blockedUntil - t) / 1000)) };
    },
    recordFailure(account, ip) {
      const t = now();
      const k = key(account, ip);
      const prev = entries.get(k);
      const failures = prev && !stale(prev, t) ? prev.failures + 1 : 1;
      entries.delete(k);
      sweep(t);
      // With 0 free attempts the first failure still needs to happen before anything can be blocked.
      const over = failures - Math.max(1, free);
      const delay = over >= 0 ? Math.min(max, base * 2 ** Math.min(over, 40)) : 0;
      entries.set(k, { failures, lastFailureAt: t, blockedUntil: t + delay });
    },
    recordSuccess(account, ip) {
      entries.delete(key(account, ip));
    },
  };
}
