/**
 * Session lifecycle: a sign-in makes a random 256-bit id (the cookie) and a CSRF token; the store
 * keeps only the id's hash. A session ends at sign-out, after `idleMs` without a request, after
 * `absoluteMs` whatever the activity, or when the token it was made with no longer stands.
 */
import { randomBytes } from 'node:crypto';
import type { Principal, TokenResolver } from './principal.js';
import { hashSessionId, type SessionStore } from './session-store.js';

export interface SessionTimes {
  idleMs: number;
  absoluteMs: number;
}

export const DEFAULT_TIMES: SessionTimes = { idleMs: 30 * 60_000, absoluteMs: 12 * 3600_000 };
// last_seen_at is written at most this often per session: a page of requests costs one write, not ten.
const TOUCH_EVERY_MS = 30_000;

export interface Session {
  principal: Principal;
  csrf: string;
}

interface Stored {
  principal: Principal;
  fp: string;
}

export class Sessions {
  constructor(
    private readonly store: SessionStore,
    private readonly resolver: TokenResolver,
    readonly times: SessionTimes,
    private readonly now: () => number,
  ) {}

  /** A new session for a principal resolved from `token`; the id goes in the cookie only. */
  async create(principal: Principal, token: string): Promise<{ id: string; csrf: string }> {
    const id = randomBytes(32).toString('base64url');
    const csrf = randomBytes(32).toString('base64url');
    const t = this.now();
    const stored: Stored = { principal, fp: this.resolver.fingerprint(token) };
    await this.store.create(hashSessionId(id), { principal: JSON.stringify(stored), csrf, created_at: t, last_seen_at: t });
    // Sign-ins are rare: sweep expired rows here rather than on a timer.
    await this.store.prune(t - this.times.absoluteMs, t - this.times.idleMs);
    return { id, csrf };
  }

  /** The live session for a cookie value, or null (unknown, expired, or its token no longer stands). */
  async resolve(id: string): Promise<Session | null> {
    const key = hashSessionId(id);
    const row = await this.store.get(key);
    if (!row) return null;
    const t = this.now();
    if (t - row.created_at >= this.times.absoluteMs || t - row.last_seen_at >= this.times.idleMs) {
      await this.store.delete(key);
      return null;
    }
    const stored = JSON.parse(row.principal) as Stored;
    if (!(await this.resolver.stillValid(stored.principal, stored.fp))) {
      await this.store.delete(key);
      return null;
    }
    if (t - row.last_seen_at >= TOUCH_EVERY_MS) await this.store.touch(key, t);
    return { principal: stored.principal, csrf: row.csrf };
  }

  async end(id: string): Promise<void> {
    await this.store.delete(hashSessionId(id));
  }
}
