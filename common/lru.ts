/**
 * A bounded least-recently-used map: every cache of authn (decisions, robot verifications, bcrypt successes,
 * recent logins, Secrets in get mode, verified OIDC tokens), the proxy's upstream tokens and the console's sign-in
 * throttle. Bounded in entries and, with `sizeOf`, in bytes; an entry ends `ttlMs` after it was set (the cache's, or
 * its own given to `set`), whatever its use. Time is `performance.now()`: a wall clock stepped back does not
 * lengthen a cached decision's life.
 *
 * Why not lru-cache: it allocates its arrays for `maxEntries` up front. authn's 50,000-entry decision cache held
 * 2.2 MB that way from start-up (five 391 KB arrays and three typed arrays in a heap snapshot), empty or not, in a
 * process that must stay within 100 MB under load. Here memory follows what is stored: a Map keeps insertion
 * order, a hit moves its entry to the end, and eviction takes from the front.
 */
export interface LruOptions<K, V> {
  maxEntries: number;
  /** With `sizeOf`: the total the entries may weigh (an entry heavier than this alone is not stored). */
  maxBytes?: number;
  sizeOf?: (value: V, key: K) => number;
  /**
   * An entry's life from `set`, unless `set` gives its own; 0 or absent: until evicted. (A life of 0 given to `set`
   * means the opposite: already over, nothing stored.)
   */
  ttlMs?: number;
  /** The clock entries are timed by, in ms: by default performance.now(), which does not go back (tests inject one). */
  now?: () => number;
}

interface Slot<V> {
  value: V;
  size: number;
  /** When the entry ends, on the cache's clock (Infinity: never). */
  ends: number;
}

export class Lru<K, V> {
  private readonly map = new Map<K, Slot<V>>();
  private weight = 0;
  private readonly maxEntries: number;
  private readonly maxBytes: number;
  private readonly ttlMs: number;
  private readonly now: () => number;

  constructor(private readonly opts: LruOptions<K, V>) {
    this.maxEntries = Math.max(1, opts.maxEntries);
    this.maxBytes = opts.maxBytes ?? Infinity;
    this.ttlMs = opts.ttlMs ?? 0;
    this.now = opts.now ?? (() => performance.now());
  }

  get size(): number {
    return this.map.size;
  }

  /** The summed `sizeOf` of the entries held (0 without `sizeOf`). */
  get bytes(): number {
    return this.weight;
  }

  /** The value, if held and not ended; a hit becomes the most recently used. */
  get(key: K): V | undefined {
    const slot = this.map.get(key);
    if (!slot) return undefined;
    if (slot.ends <= this.now()) {
      this.drop(key, slot);
      return undefined;
    }
    this.map.delete(key);
    this.map.set(key, slot);
    return slot.value;
  }

  /** Stores `value` (replacing any entry of `key`); `ttlMs` ≤ 0 given here stores nothing: it has already ended. */
  set(key: K, value: V, ttlMs?: number): void {
    const old = this.map.get(key);
    if (old) this.drop(key, old);
    if (ttlMs !== undefined && !(ttlMs > 0)) return;
    const size = this.opts.sizeOf ? this.opts.sizeOf(value, key) : 0;
    if (size > this.maxBytes) return;
    const life = ttlMs ?? this.ttlMs;
    this.map.set(key, { value, size, ends: life > 0 ? this.now() + life : Infinity });
    this.weight += size;
    // The Map iterates oldest first: evict from the front until both bounds hold.
    while (this.map.size > this.maxEntries || this.weight > this.maxBytes) {
      const [k, slot] = this.map.entries().next().value!;
      this.drop(k, slot);
    }
  }

  delete(key: K): boolean {
    const slot = this.map.get(key);
    if (!slot) return false;
    this.drop(key, slot);
    return true;
  }

  clear(): void {
    this.map.clear();
    this.weight = 0;
  }

  /** Entries held (ended ones included until they are next read or evicted), oldest first. */
  *entries(): IterableIterator<[K, V]> {
    for (const [k, slot] of this.map) yield [k, slot.value];
  }

  private drop(key: K, slot: Slot<V>): void {
    this.map.delete(key);
    this.weight -= slot.size;
  }
}
