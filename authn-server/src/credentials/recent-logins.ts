/**
 * (user, password) pairs that logged in during the last minute, remembered only to decide whether a
 * login must pay the per-client budget before a remote lookup (authz `/robots/verify`, a Secret GET):
 * a new name or a wrong secret pays first, so nobody makes authn call out faster than the budget allows,
 * while a CI node re-logging in with its robot every few seconds does not spend it. It never decides a
 * login. Keyed by `loginKey` (login-key.ts): no secret is stored.
 */
import { loginKey, newLoginKeySecret } from './login-key.js';

export class RecentLogins {
  private readonly key = newLoginKeySecret();
  private readonly seen = new Map<string, number>();

  constructor(
    private readonly ttlMs = 60_000,
    private readonly max = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  private id(user: string, password: string): string {
    return loginKey(this.key, user, password);
  }

  has(user: string, password: string): boolean {
    const until = this.seen.get(this.id(user, password));
    return until !== undefined && until > this.now();
  }

  add(user: string, password: string): void {
    const k = this.id(user, password);
    this.seen.delete(k);
    while (this.seen.size >= this.max) this.seen.delete(this.seen.keys().next().value!);
    this.seen.set(k, this.now() + this.ttlMs);
  }
}
