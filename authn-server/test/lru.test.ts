/**
 * common/lru.ts, the bounded map behind authn's decision and robot caches, the proxy's upstream tokens and the
 * console's sign-in throttle: what a cache user relies on — bounds, recency, expiry — with an injected clock.
 */
import assert from 'node:assert/strict';
import { Lru } from '../../common/lru.js';

describe('Lru (common/lru.ts)', () => {
  it('keeps at most maxEntries, evicting the least recently used (a hit counts as a use)', () => {
    const lru = new Lru<string, number>({ maxEntries: 3 });
    lru.set('a', 1);
    lru.set('b', 2);
    lru.set('c', 3);
    assert.equal(lru.get('a'), 1); // a is now the most recent; b the least
    lru.set('d', 4);
    assert.equal(lru.size, 3);
    assert.equal(lru.get('b'), undefined, 'b was least recently used');
    assert.deepEqual([...lru.entries()].map(([k]) => k), ['c', 'a', 'd'], 'oldest first');
  });

  it('keeps the summed size within maxBytes; an entry heavier than the bound alone is not stored', () => {
    const lru = new Lru<string, string>({ maxEntries: 100, maxBytes: 10, sizeOf: (v) => v.length });
    lru.set('a', 'xxxx');
    lru.set('b', 'xxxx');
    assert.equal(lru.bytes, 8);
    lru.set('c', 'xxxx');
    assert.equal(lru.get('a'), undefined, 'a evicted to make room');
    assert.equal(lru.bytes, 8);
    lru.set('big', 'x'.repeat(11));
    assert.equal(lru.get('big'), undefined);
    assert.deepEqual([...lru.entries()].map(([k]) => k), ['b', 'c'], 'an oversized value evicts nothing');
    lru.set('b', 'xx'); // replacing re-weighs
    assert.equal(lru.bytes, 6);
    assert.equal(lru.delete('c'), true);
    assert.equal(lru.delete('c'), false);
    assert.equal(lru.bytes, 2);
    lru.clear();
    assert.equal(lru.size, 0);
    assert.equal(lru.bytes, 0);
  });

  it('an entry ends ttlMs after it was set, whether or not it was read meanwhile', () => {
    let t = 1_000;
    const lru = new Lru<string, number>({ maxEntries: 10, ttlMs: 100, now: () => t });
    lru.set('a', 1);
    t += 99;
    assert.equal(lru.get('a'), 1, 'still alive 1 ms before its end');
    t += 1;
    assert.equal(lru.get('a'), undefined, 'ended on time; reads do not extend it');
    assert.equal(lru.size, 0, 'an ended entry read is dropped');
    lru.set('a', 2);
    t += 50;
    assert.equal(lru.get('a'), 2, 'set again: a fresh life');
  });

  it('an entry given its own life at set ends then; a life already over stores nothing', () => {
    let t = 0;
    const lru = new Lru<string, number>({ maxEntries: 10, ttlMs: 1_000, now: () => t });
    lru.set('short', 1, 10);
    lru.set('cache', 2);
    lru.set('over', 3, 0);
    lru.set('over2', 4, -5);
    assert.equal(lru.size, 2, 'nothing stored for a life already over');
    t = 10;
    assert.equal(lru.get('short'), undefined);
    assert.equal(lru.get('cache'), 2, "the cache's own life applies when set gives none");
    t = 1_000;
    assert.equal(lru.get('cache'), undefined);
  });

  it('without an injected clock, time is monotonic (performance.now), not the wall clock', () => {
    // The wall clock is stubbed before the cache exists, so a cache that kept Date.now would see every jump.
    const realNow = Date.now;
    let jump = 0;
    Date.now = () => realNow() + jump;
    try {
      const lru = new Lru<string, number>({ maxEntries: 10, ttlMs: 60_000 });
      lru.set('a', 1);
      jump = 3_600_000; // stepped an hour forward: the entry has not lived a minute
      assert.equal(lru.get('a'), 1, 'a forward step does not end the entry');
      jump = -3_600_000;
      lru.set('b', 2);
      jump = 0; // stepped back: b must not live an hour longer
      assert.equal(lru.get('b'), 2);
      const realPerf = performance.now.bind(performance);
      performance.now = () => realPerf() + 61_000;
      try {
        assert.equal(lru.get('b'), undefined, 'a minute on the monotonic clock ends it');
      } finally {
        performance.now = realPerf;
      }
    } finally {
      Date.now = realNow;
    }
  });

  it('deleting while iterating entries (a robot dropping all its cached logins) visits every entry once', () => {
    const lru = new Lru<string, string>({ maxEntries: 10 });
    for (const [k, v] of [['1', 'x'], ['2', 'y'], ['3', 'x'], ['4', 'x']] as const) lru.set(k, v);
    const seen: string[] = [];
    for (const [k, v] of lru.entries()) {
      seen.push(k);
      if (v === 'x') lru.delete(k);
    }
    assert.deepEqual(seen, ['1', '2', '3', '4']);
    assert.deepEqual([...lru.entries()], [['2', 'y']]);
  });

  it('allocates nothing for its bound: a 50,000-entry cache costs what it stores', () => {
    // lru-cache preallocated ~2.2 MB for this bound (heap snapshot); here the empty cache is one Map.
    // Typed arrays (lru-cache's index, TTL and size arrays) count in arrayBuffers, not heapUsed.
    const used = () => { const m = process.memoryUsage(); return m.heapUsed + m.arrayBuffers; };
    const before = used();
    const caches = Array.from({ length: 20 }, () => new Lru<string, number>({ maxEntries: 50_000, maxBytes: 16 << 20, ttlMs: 60_000 }));
    const grew = used() - before;
    assert.equal(caches.length, 20);
    assert.ok(grew < 2 * 1024 * 1024, `20 empty caches grew the heap by ${(grew / 1048576).toFixed(1)} MB (lru-cache: ~44 MB)`);
  });
});
