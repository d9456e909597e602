/**
 * (user, password) pairs that logged in during the last minute, remembered only to decide whether a
 * login must pay the per-client budget before a remote lookup (authz `/robots/verify`, a Secret GET):
 * a new name or a wrong secret pays first, so nobody makes authn call out faster than the budget allows,
 * while a CI node re-logging in with its robot every few seconds does not spend it. It never decides a
 * login. Keyed by `loginKey` (login-key.ts): no secret is stored.
 */
import { Lru } from '../../../common/lru.js';
import { loginKey, newLoginKeySecret } from './login-key.js';

export class RecentLogins {
  private readonly key = newLoginKeySecret();
  private readonly seen: Lru<string, true>;

  constructor(ttlMs = 60_000, max = 10_000, now?: () => number) {
    this.seen = new Lru({ maxEntries: max, ttlMs, now });
  }

  private id(user: string, password: string): string {
    return loginKey(this.key, user, password);
  }

  has(user: string, password: string): boolean {
    return this.seen.get(this.id(user, password)) !== undefined;
  }

  add(user: string, password: string): void {
    this.seen.set(this.id(user, password), true);
  }
}
