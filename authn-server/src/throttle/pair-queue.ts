/**
 * One password check at a time per (account, client): without it, N guesses sent at once all pass the
 * throttle's check before the first failure is recorded, so a burst gets N bcrypt verdicts instead of the
 * free attempts. Serialising costs a legitimate client nothing: its concurrent re-logins wait for the first
 * bcrypt run and then hit the verification cache. Entries vanish when a pair's queue drains.
 */
import { clientKey } from '../../../common/client-key.js';

export class PairQueue {
  private readonly tails = new Map<string, Promise<void>>();

  /** Pairs with a check running or waiting (tests). */
  get size(): number {
    return this.tails.size;
  }

  async run<T>(account: string, ip: string, fn: () => Promise<T>): Promise<T> {
    const key = `${account}\0${clientKey(ip)}`;
    const previous = this.tails.get(key);
    let release!: () => void;
    const tail = new Promise<void>((resolve) => (release = resolve));
    this.tails.set(key, tail);
    try {
      if (previous) await previous;
      return await fn();
    } finally {
      release();
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }
}
