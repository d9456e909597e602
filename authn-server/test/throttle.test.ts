/** Failed-login throttle per (account, client IP). */
import assert from 'node:assert/strict';
import { createLoginThrottle, type ThrottleOptions } from '../src/throttle/index.js';
import { clientKey } from '../src/throttle/client-key.js';

function throttle(opts: ThrottleOptions = {}) {
  const clock = { now: 1_700_000_000_000 };
  const t = createLoginThrottle({ now: () => clock.now, ...opts });
  const fail = (n: number, account = 'alice', ip = '10.0.0.1'): void => {
    for (let i = 0; i < n; i++) t.recordFailure(account, ip);
  };
  return { t, clock, fail };
}

describe('login throttle', () => {
  it('allows five free failures, then blocks with a growing Retry-After', () => {
    const { t, clock, fail } = throttle();
    fail(5);
    assert.deepEqual(t.check('alice', '10.0.0.1'), { allowed: true });
    const waits: number[] = [];
    for (let i = 0; i < 5; i++) {
      fail(1);
      const c = t.check('alice', '10.0.0.1');
      assert.equal(c.allowed, false);
      assert.ok(!c.allowed);
      waits.push(c.retryAfterSec);
      clock.now += c.retryAfterSec * 1000;
      assert.deepEqual(t.check('alice', '10.0.0.1'), { allowed: true }, 'allowed again once the delay is over');
    }
    assert.deepEqual(waits, [1, 2, 4, 8, 16]);
  });

  it('caps the delay at five minutes', () => {
    const { t, fail } = throttle();
    fail(40);
    const c = t.check('alice', '10.0.0.1');
    assert.ok(!c.allowed);
    assert.equal(c.retryAfterSec, 300);
  });

  it('counts down Retry-After as time passes', () => {
    const { t, clock, fail } = throttle({ freeAttempts: 0, baseDelayMs: 10_000 });
    fail(1);
    clock.now += 3_500;
    const c = t.check('alice', '10.0.0.1');
    assert.ok(!c.allowed);
    assert.equal(c.retryAfterSec, 7);
  });

  it('a success resets the pair', () => {
    const { t, fail } = throttle();
    fail(7);
    assert.equal(t.check('alice', '10.0.0.1').allowed, false);
    t.recordSuccess('alice', '10.0.0.1');
    assert.deepEqual(t.check('alice', '10.0.0.1'), { allowed: true });
    fail(5);
    assert.deepEqual(t.check('alice', '10.0.0.1'), { allowed: true }, 'free attempts start over');
  });

  it('an attacker on one IP cannot lock the account out from another IP', () => {
    const { t, fail } = throttle();
    fail(50, 'alice', '203.0.113.9');
    assert.equal(t.check('alice', '203.0.113.9').allowed, false);
    assert.deepEqual(t.check('alice', '10.0.0.1'), { allowed: true }, 'the real user elsewhere');
    assert.deepEqual(t.check('bob', '203.0.113.9'), { allowed: true }, 'another account from the attacker IP');
  });

  it('counts an IPv6 /64 as one client and IPv4-mapped addresses as IPv4', () => {
    const { t, fail } = throttle();
    fail(3, 'alice', '2001:db8:1:2::1');
    fail(3, 'alice', '2001:db8:1:2:ffff::7');
    assert.equal(t.check('alice', '2001:db8:1:2::abcd').allowed, false, 'same /64');
    assert.deepEqual(t.check('alice', '2001:db8:1:3::1'), { allowed: true }, 'other /64');
    fail(3, 'bob', '192.0.2.5');
    fail(3, 'bob', '::ffff:192.0.2.5');
    assert.equal(t.check('bob', '192.0.2.5').allowed, false);
  });

  it('forgets a pair after a quiet period', () => {
    const { t, clock, fail } = throttle();
    fail(8);
    clock.now += 15 * 60_000;
    fail(1);
    assert.deepEqual(t.check('alice', '10.0.0.1'), { allowed: true }, 'the count started over');
  });

  it('keeps memory bounded', () => {
    const { t, fail } = throttle({ maxEntries: 100 });
    for (let i = 0; i < 1000; i++) fail(1, `user${i}`, '10.0.0.1');
    assert.ok(t.size <= 100, `tracked ${t.size}`);
    assert.equal(t.size, 100);
    for (let i = 0; i < 500; i++) t.recordSuccess(`user${999 - i}`, '10.0.0.1');
    assert.ok(t.size <= 100);
  });

  it('evicts stale pairs before they count toward the cap', () => {
    const { t, clock, fail } = throttle();
    for (let i = 0; i < 50; i++) fail(1, `user${i}`, '10.0.0.1');
    clock.now += 16 * 60_000;
    fail(1, 'fresh', '10.0.0.1');
    assert.equal(t.size, 1);
  });
});

describe('client key', () => {
  it('normalises addresses', () => {
    assert.equal(clientKey('10.1.2.3'), '10.1.2.3');
    assert.equal(clientKey('::ffff:10.1.2.3'), '10.1.2.3');
    assert.equal(clientKey('2001:DB8::1'), '2001:db8:0:0::/64');
    assert.equal(clientKey('::1'), '0:0:0:0::/64');
    assert.equal(clientKey('fe80::1%eth0'), 'fe80:0:0:0::/64');
    assert.equal(clientKey('not an ip'), 'not an ip');
  });
});
