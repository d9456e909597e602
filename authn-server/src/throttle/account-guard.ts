/**
 * Per-account failure limit across all addresses (the second layer behind the per-(account, IP)
 * throttle). The pair throttle alone lets an attacker with many addresses — a pod that picks its own
 * X-Forwarded-For, a botnet — try 5 passwords per address; this bounds the guesses per account
 * however many addresses there are, without handing the attacker a way to lock the owner out:
 *
 * - Each account has a bucket of `burst` failures that refills at `perHour`. A failed login from any
 *   address spends one.
 * - While the bucket is empty, only addresses that logged in to this account successfully within
 *   `trustDays` are let through (to the pair throttle, which still limits each of them); any other
 *   address gets 429 + Retry-After without a password check. Refresh tokens do not log in, so their
 *   holders are never stopped.
 * - So from addresses that never logged in as the account, at most `burst` + `perHour` × hours
 *   passwords are checked (10 + 12/h by default: 298 in the first day).
 * - Names nobody knows (`no-match`) get buckets too, so a 429 does not tell an existing account from a
 *   missing one; they live in their own bounded table, so spraying random names cannot evict — and so
 *   reset — a real account's bucket.
 */
import { clientKey } from '../../../common/client-key.js';

export interface AccountGuardOptions {
  /** Failures an account absorbs before only trusted addresses may try. Default 10. */
  burst?: number;
  /** Failures per hour the bucket regains. Default 12. */
  perHour?: number;
  /** How long a successful address stays trusted (days). Default 30. */
  trustDays?: number;
  /** Trusted addresses kept per account (most recent). Default 8. */
  trustedPerAccount?: number;
  /** Most accounts tracked in each table (known, unknown). Default 100 000. */
  maxAccounts?: number;
  now?: () => number;
}

const ACCOUNT_GUARD_DEFAULTS = { burst: 10, perHour: 12, trustDays: 30, trustedPerAccount: 8, maxAccounts: 100_000 } as const;

interface Bucket {
  tokens: number;
  at: number;
  /** clientKey → last success (ms). */
  trusted: Map<string, number>;
}

export type GuardGate = { allowed: true; reserved: boolean } | { allowed: false; retryAfterSec: number };

/**
 * `check` reserves one failure up front (so 50 guesses sent at once cannot all pass before the first
 * failure is recorded); a success or a login that was not decided (`release`) gives it back.
 */
export interface AccountGuard {
  check(account: string, ip: string): GuardGate;
  /** `known`: the account exists (a wrong password), as opposed to a name nobody knows. */
  recordFailure(account: string, ip: string, known: boolean, reserved: boolean): void;
  recordSuccess(account: string, ip: string, reserved: boolean): void;
  /** The login was not decided (503, budget spent): the reservation is returned. */
  release(account: string, reserved: boolean): void;
}

export function createAccountGuard(opts: AccountGuardOptions = {}): AccountGuard {
  const o = { ...ACCOUNT_GUARD_DEFAULTS, ...opts };
  const burst = Math.max(1, o.burst);
  const perMs = Math.max(1e-6, o.perHour) / 3_600_000;
  const trustMs = o.trustDays * 86_400_000;
  const now = opts.now ?? Date.now;
  // Map order = least recently touched first, for eviction.
  const known = new Map<string, Bucket>();
  const unknown = new Map<string, Bucket>();
  const touch = (table: Map<string, Bucket>, account: string, b: Bucket): void => {
    table.delete(account);
    while (table.size >= o.maxAccounts) table.delete(table.keys().next().value!);
    table.set(account, b);
  };
  /** The account's bucket, refilled to now (a new one is full and goes to the unknown table until a verdict says otherwise). */
  const bucket = (account: string, t: number): Bucket => {
    const b = known.get(account) ?? unknown.get(account);
    if (!b) {
      const fresh = { tokens: burst, at: t, trusted: new Map<string, number>() };
      touch(unknown, account, fresh);
      return fresh;
    }
    b.tokens = Math.min(burst, b.tokens + (t - b.at) * perMs);
    b.at = t;
    return b;
  };
  const place = (account: string, b: Bucket, isKnown: boolean): void => {
    if (isKnown || known.has(account)) {
      unknown.delete(account);
      touch(known, account, b);
    } else touch(unknown, account, b);
  };
  const refund = (b: Bucket): void => {
    b.tokens = Math.min(burst, b.tokens + 1);
  };
  return {
    check(account, ip) {
      const t = now();
      const b = bucket(account, t);
      if (b.tokens >= 1) {
        b.tokens -= 1;
        return { allowed: true, reserved: true };
      }
      const at = b.trusted.get(clientKey(ip));
      if (at !== undefined && t - at < trustMs) return { allowed: true, reserved: false };
      return { allowed: false, retryAfterSec: Math.max(1, Math.ceil((1 - b.tokens) / perMs / 1000)) };
    },
    recordFailure(account, _ip, isKnown, reserved) {
      const b = bucket(account, now());
      if (!reserved) b.tokens = Math.max(0, b.tokens - 1);
      place(account, b, isKnown);
    },
    recordSuccess(account, ip, reserved) {
      const t = now();
      const b = bucket(account, t);
      if (reserved) refund(b);
      const k = clientKey(ip);
      b.trusted.delete(k);
      while (b.trusted.size >= o.trustedPerAccount) b.trusted.delete(b.trusted.keys().next().value!);
      b.trusted.set(k, t);
      place(account, b, true);
    },
    release(account, reserved) {
      if (reserved) refund(bucket(account, now()));
    },
  };
}
