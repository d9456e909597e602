/**
 * bcrypt verification with a short-lived in-memory cache of successes.
 *
 * - Cache key: `loginKey` (../login-key.ts), a per-process keyed digest of (user, password): the password is
 *   never stored.
 * - Only successes are cached, for `ttlMs`, at most `maxEntries` (common/lru.ts: least recently used evicted
 *   first). A hit also requires the stored hash to be unchanged.
 * - Concurrent verifications of the same (user, password, hash) share one bcrypt run.
 * - `dummy` burns one compare against a fixed hash of the given cost so unknown users cost the same.
 * - Every bcrypt run that is not shared with one in flight first spends from the client's budget
 *   (`HashBusyError` `client-limit` when it is empty); cache hits spend nothing.
 */
import { randomBytes } from 'node:crypto';
import { Lru } from '../../../../common/lru.js';
import { loginKey, newLoginKeySecret } from '../login-key.js';
import bcrypt from 'bcryptjs';
import type { HashBudget } from './hash-budget.js';
import { HashBusyError, type Lane } from './hash-pool.js';

/** `lane`: a user's real hash (`known`) or an unknown name's dummy compare (`unknown`), hash-pool.ts. */
export type CompareFn = (password: string, hash: string, lane?: Lane) => Promise<boolean>;
export type HashFn = (password: string, cost: number) => Promise<string>;

export interface VerifierOptions {
  /** Lifetime of a cached success (ms); 0 disables the cache. Default 60 000. */
  ttlMs?: number;
  /** Most cached successes kept. Default 10 000. */
  maxEntries?: number;
  /** bcrypt compare (the worker pool; injectable so tests can count calls). Default: bcryptjs async compare. */
  compare?: CompareFn;
  /** bcrypt hash for the dummy hashes (the worker pool). Default: bcryptjs async hash. */
  hash?: HashFn;
  /** Per-client budget of uncached checks; none → unlimited. */
  budget?: HashBudget;
  now?: () => number;
  /** Called on every verification of a known user: `true` on a cache hit. */
  onCache?: (hit: boolean) => void;
}

const VERIFIER_DEFAULTS = { ttlMs: 60_000, maxEntries: 10_000 } as const;

export class PasswordVerifier {
  private readonly key = newLoginKeySecret();
  /** Login key → the hash it was verified against. */
  private readonly cache: Lru<string, string>;
  private readonly inflight = new Map<string, Promise<boolean>>();
  private readonly dummyHashes = new Map<number, Promise<string>>();
  private readonly ttlMs: number;
  private readonly compareFn: CompareFn;
  private readonly hashFn: HashFn;
  private readonly budget: HashBudget | undefined;
  private readonly onCache: ((hit: boolean) => void) | undefined;

  constructor(opts: VerifierOptions = {}) {
    this.ttlMs = opts.ttlMs ?? VERIFIER_DEFAULTS.ttlMs;
    this.cache = new Lru({ maxEntries: opts.maxEntries ?? VERIFIER_DEFAULTS.maxEntries, ttlMs: this.ttlMs, now: opts.now });
    this.compareFn = opts.compare ?? ((password, hash) => bcrypt.compare(password, hash));
    this.hashFn = opts.hash ?? ((password, cost) => bcrypt.hash(password, cost));
    this.budget = opts.budget;
    this.onCache = opts.onCache;
  }

  /** Number of cached successes (for tests and metrics). */
  get size(): number {
    return this.cache.size;
  }

  /** `client` (an IP) is charged for an uncached check when a budget is set. */
  async verify(user: string, password: string, hash: string, client?: string): Promise<boolean> {
    const key = this.cacheKey(user, password);
    const hit = this.cache.get(key);
    if (hit === hash) {
      this.onCache?.(true);
      return true;
    }
    if (hit !== undefined) this.cache.delete(key);
    this.onCache?.(false);
    const ok = await this.compareOnce(key, password, hash, client, 'known');
    if (ok && this.ttlMs > 0) this.cache.set(key, hash);
    return ok;
  }

  /**
   * One compare whose result is ignored, against a random-password hash of `cost`. Goes through the same
   * in-flight sharing as `verify`, so concurrent identical requests cost the same for unknown users too.
   */
  async dummy(user: string, password: string, cost: number, client?: string): Promise<void> {
    await this.compareOnce(this.cacheKey(user, password), password, await this.dummyHash(cost), client, 'unknown');
  }

  private cacheKey(user: string, password: string): string {
    return loginKey(this.key, user, password);
  }

  /** Concurrent compares of the same (user, password, hash) share one bcrypt run. */
  private compareOnce(key: string, password: string, hash: string, client: string | undefined, lane: Lane): Promise<boolean> {
    // The hash is part of the key so a reload mid-compare never answers for the new hash.
    const flightKey = `${key}\0${hash}`;
    let pending = this.inflight.get(flightKey);
    if (!pending) {
      const spent = client !== undefined && this.budget ? this.budget.take(client) : { ok: true as const };
      if (!spent.ok) return Promise.reject(new HashBusyError('client-limit', spent.retryAfterSec));
      pending = this.compareFn(password, hash, lane).finally(() => this.inflight.delete(flightKey));
      this.inflight.set(flightKey, pending);
    }
    return pending;
  }

  /** Creates (once per cost) the hash `dummy` compares against, so the first unknown user is not slower. */
  dummyHash(cost: number): Promise<string> {
    let hash = this.dummyHashes.get(cost);
    if (!hash) {
      hash = this.hashFn(randomBytes(18).toString('base64'), cost);
      this.dummyHashes.set(cost, hash);
    }
    return hash;
  }

  /** Forgets every cached success (on reload: a changed file may have changed or removed anyone). */
  clear(): void {
    this.cache.clear();
  }
}
