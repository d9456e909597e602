/**
 * Sign-in throttle: after `limit` failed sign-ins from one client address within `windowMs`, that
 * address is refused (429 with Retry-After) until the window has passed since its first failure. A
 * success does not clear the count (an attacker holding one valid token gains nothing). Memory is
 * bounded (least recently failing addresses forgotten first); the count is per replica.
 */
import { Lru } from '../../../common/lru.js';

export interface ThrottleOptions {
  limit: number;
  windowMs: number;
  maxAddresses?: number;
}

interface Entry {
  first: number;
  failures: number;
}

export class SignInThrottle {
  private readonly seen: Lru<string, Entry>;

  constructor(
    private readonly opts: ThrottleOptions,
    private readonly now: () => number,
  ) {
    this.seen = new Lru({ maxEntries: opts.maxAddresses ?? 10_000 });
  }

  /** Seconds to wait before this address may try again, or 0. */
  retryAfter(address: string): number {
    const e = this.seen.get(address);
    if (!e) return 0;
    const left = e.first + this.opts.windowMs - this.now();
    if (left <= 0) {
      this.seen.delete(address);
      return 0;
    }
    return e.failures >= this.opts.limit ? Math.ceil(left / 1000) : 0;
  }

  failed(address: string): void {
    const t = this.now();
    const e = this.seen.get(address);
    if (!e || e.first + this.opts.windowMs <= t) this.seen.set(address, { first: t, failures: 1 });
    else e.failures++;
  }
}
