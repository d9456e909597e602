/** Failed-login throttle per (account, client IP). */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseCidrs } from '../src/request/client-ip.js';
import { createLoginThrottle, type ThrottleOptions } from '../src/throttle/index.js';
import { clientKey } from '../../common/client-key.js';
import { PairQueue } from '../src/throttle/pair-queue.js';
import { basic, makeKeys, MemCredentials, StandInAuthz, tempDir, testApp } from './helpers.js';

function throttle(opts: ThrottleOptions = {}) {
  const clock = { now: 1_700_000_000_000 };
  const t = createLoginThrottle({ now: () => clock.now, ...opts });
  const fail = (n: number, account = 'alice', ip = '10.0.0.1'): void => {
    for (let i = 0; i < n; i++) t.recordFailure(account, ip);
  };
  return { t, clock, fail };
}

describe('login throttle', () => {
  it('allows exactly five free failures (the fifth starts the delay), then blocks with a growing Retry-After', () => {
    const { t, clock, fail } = throttle();
    fail(4);
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
    fail(4);
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

/** bcrypt-like latency, so parallel requests really overlap. */
class SlowCredentials extends MemCredentials {
  override async authenticate(user: string, password: string) {
    await new Promise((r) => setTimeout(r, 40));
    return super.authenticate(user, password);
  }
}

describe('login throttle through the token endpoint (real HTTP, parallel requests)', () => {
  let tmp: ReturnType<typeof tempDir>;
  let authz: StandInAuthz;
  let creds: SlowCredentials;
  let server: http.Server;
  let agent: http.Agent;
  let closeApp: () => void;
  let port = 0;

  before(async () => {
    tmp = tempDir();
    authz = await new StandInAuthz(() => ['pull']).start();
    creds = new SlowCredentials();
    creds.set('alice', 'alice-pw');
    // The peer (127.0.0.1) is a trusted proxy, so X-Forwarded-For stands for distinct clients.
    const t = testApp({ keys: await makeKeys(tmp.dir), authzUrl: authz.url, credentials: creds, throttle: createLoginThrottle(), trustProxy: parseCidrs('127.0.0.1') });
    closeApp = () => t.authzClient.close();
    server = http.createServer(t.app).listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    port = (server.address() as AddressInfo).port;
    agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  });
  after(async () => {
    agent.destroy();
    closeApp();
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    await authz.stop();
    tmp.cleanup();
  });

  const get = (user: string, password: string, ip: string) =>
    new Promise<{ status: number; retryAfter: string | undefined }>((resolve, reject) => {
      http
        .get({ host: '127.0.0.1', port, agent, path: '/auth?service=registry.test&scope=repository:a/b:pull', headers: { Authorization: basic(user, password), 'X-Forwarded-For': ip } }, (res) => {
          res.resume();
          resolve({ status: res.statusCode ?? 0, retryAfter: res.headers['retry-after'] });
        })
        .on('error', reject);
    });

  it('a burst of parallel guesses gets the free attempts checked and 429 for the rest; the owner elsewhere is unaffected', async () => {
    const before = creds.authCalls;
    const burst = await Promise.all(Array.from({ length: 40 }, (_, i) => get('alice', `guess-${i}`, '203.0.113.66')));
    const checked = creds.authCalls - before;
    assert.equal(checked, 5, 'exactly the documented five free attempts reach the password check');
    assert.equal(burst.filter((r) => r.status === 401).length, 5);
    const limited = burst.filter((r) => r.status === 429);
    assert.equal(limited.length, 35);
    assert.ok(limited.every((r) => Number(r.retryAfter) >= 1), 'Retry-After on every 429');
    assert.equal((await get('alice', 'alice-pw', '203.0.113.66')).status, 429, 'even the right password waits on the attacking address');
    const owner = await Promise.all(Array.from({ length: 10 }, () => get('alice', 'alice-pw', '198.51.100.7')));
    assert.deepEqual(
      owner.map((r) => r.status),
      Array(10).fill(200),
      'parallel logins of the real user from another address all succeed',
    );
  });
});

describe('pair queue', () => {
  it('runs one task at a time per (account, client), pairs independently, and forgets drained pairs', async () => {
    const q = new PairQueue();
    const log: string[] = [];
    const task = (name: string, ms: number) => async () => {
      log.push(`start ${name}`);
      await new Promise((r) => setTimeout(r, ms));
      log.push(`end ${name}`);
      return name;
    };
    const results = await Promise.all([
      q.run('alice', '10.0.0.1', task('a1', 30)),
      q.run('alice', '10.0.0.1', task('a2', 1)),
      q.run('alice', '10.0.0.2', task('b1', 10)),
      q.run('alice', '::ffff:10.0.0.1', task('a3', 1)),
    ]);
    assert.deepEqual(results, ['a1', 'a2', 'b1', 'a3']);
    assert.deepEqual(log, ['start a1', 'start b1', 'end b1', 'end a1', 'start a2', 'end a2', 'start a3', 'end a3']);
    await assert.rejects(q.run('alice', '10.0.0.1', () => Promise.reject(new Error('boom'))), /boom/);
    assert.equal(await q.run('alice', '10.0.0.1', async () => 'after a failure'), 'after a failure');
    assert.equal(q.size, 0);
  });
});
