/**
 * bcrypt cannot starve the server: password checks run on worker threads behind a bounded queue, so
 * while 8 connections flood /auth with random unknown users a cached login stays fast and the flood is
 * refused (429/503 with Retry-After) instead of slowing everyone down.
 *
 * No latency is asserted (speed lives in benchmarks: the p99 target is measured by bench/hash-flood.bench.ts);
 * what a user checks here is that the cached login is never refused and the flood is, with Retry-After.
 * Before hashing moved off the event loop the cached login itself got 503s under this flood.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import { createCredentials, type Credentials } from '../src/credentials/chain.js';
import { parseCidrs } from '../src/request/client-ip.js';
import { createLoginThrottle } from '../src/throttle/index.js';
import { basic, logger, makeKeys, StandInAuthz, tempDir, testApp } from './helpers.js';

interface Reply {
  status: number;
  retryAfter: string | undefined;
  ms: number;
}

function get(agent: http.Agent, url: string, auth: string): Promise<Reply> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent, headers: { authorization: auth } }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, retryAfter: res.headers['retry-after'], ms: performance.now() - t0 }));
    });
    req.on('error', reject);
  });
}

const p = (sorted: number[], q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;

describe('bcrypt isolation (worker threads, bounded queue, per-IP limit)', function () {
  this.timeout(30_000);
  const tmp = tempDir();
  let authz: StandInAuthz;
  let creds: Credentials;
  let server: http.Server;
  let base = '';
  let closeClient: () => void;

  before(async () => {
    authz = await new StandInAuthz(() => ['pull']).start();
    const usersFile = join(tmp.dir, 'users.yaml');
    writeFileSync(usersFile, `users:\n  owner:\n    password: "${bcrypt.hashSync('owner-password', 10)}"\n`);
    creds = await createCredentials({ logger, usersFile, watch: { watch: false, pollMs: 0 } });
    const { app, authzClient } = testApp({ keys: await makeKeys(tmp.dir), authzUrl: authz.url, credentials: creds, throttle: createLoginThrottle() });
    closeClient = () => authzClient.close();
    server = http.createServer(app).listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  after(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    closeClient();
    creds.close();
    await authz.stop();
    tmp.cleanup();
  });

  it('under a flood of 8 connections of random unknown users, cached logins are always answered and the flood is refused', async () => {
    const url = `${base}/auth?service=registry.test&scope=repository:app:pull`;
    const probeAgent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const floodAgent = new http.Agent({ keepAlive: true, maxSockets: 8 });
    const warm = await get(probeAgent, url, basic('owner', 'owner-password'));
    assert.equal(warm.status, 200, 'the owner logs in (and is now cached)');

    const until = Date.now() + 3000;
    const flood: Reply[] = [];
    let n = 0;
    const floodLoop = async (): Promise<void> => {
      while (Date.now() < until) flood.push(await get(floodAgent, url, basic(`stranger-${n++}-${Math.random()}`, 'guess')));
    };
    const probes: number[] = [];
    const probeLoop = async (): Promise<void> => {
      await new Promise((r) => setTimeout(r, 300));
      while (Date.now() < until) {
        const r = await get(probeAgent, url, basic('owner', 'owner-password'));
        assert.equal(r.status, 200, 'the cached login is never refused');
        probes.push(r.ms);
        await new Promise((res) => setTimeout(res, 10));
      }
    };
    await Promise.all([...Array.from({ length: 8 }, floodLoop), probeLoop()]);
    probeAgent.destroy();
    floodAgent.destroy();

    const sorted = probes.sort((a, b) => a - b);
    const refused = flood.filter((r) => r.status === 429 || r.status === 503);
    assert.ok(refused.length > 0, `the flood gets refusals (got statuses ${[...new Set(flood.map((r) => r.status))].join(',')})`);
    assert.ok(refused.every((r) => Number(r.retryAfter) >= 1), 'every refusal says when to retry');
    assert.ok(flood.every((r) => [401, 429, 503].includes(r.status)), 'no other status (no 500)');
    assert.ok(sorted.length >= 20, `enough probes (${sorted.length})`);

    process.stdout.write(`      [flood] cached-login p50 ${p(sorted, 0.5).toFixed(1)} ms, p99 ${p(sorted, 0.99).toFixed(1)} ms over ${sorted.length} probes; ${refused.length} of ${flood.length} flood requests refused\n`);
  });
});

describe('bcrypt pool and per-client budget', () => {
  it('a full queue refuses new checks at once with queue-full and a Retry-After, and runs the admitted ones', async () => {
    const { createHashPool, HashBusyError } = await import('../src/credentials/bcrypt/hash-pool.js');
    const pool = createHashPool({ workers: 1, maxQueue: 2 });
    try {
      const hash = await pool.hash('pw', 8);
      const results = await Promise.allSettled(Array.from({ length: 6 }, (_, i) => pool.compare(i === 0 ? 'pw' : 'nope', hash)));
      const ok = results.filter((r) => r.status === 'fulfilled').map((r) => (r as PromiseFulfilledResult<boolean>).value);
      const refused = results.filter((r) => r.status === 'rejected').map((r) => (r as PromiseRejectedResult).reason as InstanceType<typeof HashBusyError>);
      assert.deepEqual(ok, [true, false, false], 'one running + two queued are answered');
      assert.equal(refused.length, 3);
      for (const e of refused) {
        assert.ok(e instanceof HashBusyError);
        assert.equal(e.reason, 'queue-full');
        assert.ok(e.retryAfterSec >= 1);
      }
    } finally {
      await pool.close();
    }
  });

  it('a thread idle for idleMs exits (its heap is returned); the next check starts one again and is answered', async () => {
    const { createHashPool } = await import('../src/credentials/bcrypt/hash-pool.js');
    const pool = createHashPool({ workers: 2, idleMs: 150 });
    try {
      const hash = await pool.hash('pw', 4);
      assert.deepEqual(await Promise.all([pool.compare('pw', hash), pool.compare('nope', hash)]), [true, false]);
      assert.equal(pool.threads, 2, 'two checks at once ran on two threads');
      await new Promise((r) => setTimeout(r, 500));
      assert.equal(pool.threads, 0, 'both threads exited after idling');
      assert.equal(await pool.compare('pw', hash), true, 'a check after the idle exit is answered');
      assert.equal(pool.threads, 1);
    } finally {
      await pool.close();
    }
    assert.equal(pool.threads, 0);
  });

  it('one client gets `burst` uncached checks, then regains one per minute/perMinute; other clients are unaffected', async () => {
    const { createHashBudget } = await import('../src/credentials/bcrypt/hash-budget.js');
    const clock = { now: 1_000_000 };
    const b = createHashBudget({ burst: 3, perMinute: 60, now: () => clock.now });
    assert.deepEqual([1, 2, 3].map(() => b.take('10.0.0.1').ok), [true, true, true]);
    assert.deepEqual(b.take('10.0.0.1'), { ok: false, retryAfterSec: 1 });
    assert.deepEqual(b.take('2001:db8::1'), { ok: true }, 'another client has its own budget');
    assert.deepEqual(b.take('::ffff:10.0.0.1'), { ok: false, retryAfterSec: 1 }, 'an IPv4-mapped address is the same client');
    clock.now += 1000;
    assert.deepEqual(b.take('10.0.0.1'), { ok: true });
    assert.equal(b.take('10.0.0.1').ok, false);
  });

  it('over HTTP: a client spraying unknown users gets 429 + Retry-After after its burst; a cached login from it still works', async () => {
    const tmp = tempDir();
    const authz = await new StandInAuthz(() => ['pull']).start();
    const usersFile = join(tmp.dir, 'users.yaml');
    writeFileSync(usersFile, `users:\n  owner:\n    password: "${bcrypt.hashSync('pw', 4)}"\n`);
    const creds = await createCredentials({ logger, usersFile, watch: { watch: false, pollMs: 0 }, hashBudget: { burst: 4, perMinute: 1 } });
    const { app, authzClient } = testApp({ keys: await makeKeys(tmp.dir), authzUrl: authz.url, credentials: creds, throttle: createLoginThrottle() });
    const supertest = (await import('supertest')).default;
    try {
      const url = '/auth?service=registry.test';
      assert.equal((await supertest(app).get(url).set('Authorization', basic('owner', 'pw'))).status, 200, 'owner logs in (one check spent, now cached)');
      const statuses: number[] = [];
      for (let i = 0; i < 5; i++) statuses.push((await supertest(app).get(url).set('Authorization', basic(`u${i}`, 'guess'))).status);
      assert.deepEqual(statuses, [401, 401, 401, 429, 429]);
      const refused = await supertest(app).get(url).set('Authorization', basic('owner', 'wrong'));
      assert.equal(refused.status, 429, 'a wrong password for a real user is refused the same way (no user enumeration)');
      assert.ok(Number(refused.headers['retry-after']) >= 1);
      assert.equal((await supertest(app).get(url).set('Authorization', basic('owner', 'pw'))).status, 200, 'the cached login spends nothing');
    } finally {
      authzClient.close();
      creds.close();
      await authz.stop();
      tmp.cleanup();
    }
  });
});

describe('known users keep a share of the bcrypt pool under a flood from many addresses', function () {
  this.timeout(60_000);
  const tmp = tempDir();
  after(() => tmp.cleanup());

  it('32 addresses flooding made-up names; 20 real users logging in for the first time: none gets 503', async () => {
    const authz = await new StandInAuthz(() => ['pull']).start();
    const usersFile = join(tmp.dir, 'users.yaml');
    const users = Array.from({ length: 20 }, (_, i) => `user-${i}`);
    writeFileSync(usersFile, `users:\n${users.map((u) => `  ${u}:\n    password: "${bcrypt.hashSync(`${u}-pw`, 8)}"`).join('\n')}\n`);
    // One thread and a short queue: what a small node has, and what a flood fills first.
    const creds = await createCredentials({ logger, usersFile, watch: { watch: false, pollMs: 0 }, hashPool: { workers: 1, maxQueue: 4 } });
    const { app, authzClient } = testApp({ keys: await makeKeys(tmp.dir), authzUrl: authz.url, credentials: creds, throttle: createLoginThrottle(), trustProxy: parseCidrs('127.0.0.1') });
    const server = http.createServer(app).listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/auth?service=registry.test&scope=repository:app:pull`;
    const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
    const from = (ip: string, auth: string) =>
      new Promise<number>((resolve, reject) => {
        const req = http.get(url, { agent, headers: { authorization: auth, 'x-forwarded-for': ip } }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        });
        req.on('error', reject);
      });
    try {
      let stop = false;
      const flood: number[] = [];
      const floodLoop = async (a: number): Promise<void> => {
        for (let n = 0; !stop; n++) flood.push(await from(`10.9.0.${a}`, basic(`made-up-${a}-${n}`, 'guess')));
      };
      const loops = Array.from({ length: 32 }, (_, a) => floodLoop(a + 1));
      await new Promise((r) => setTimeout(r, 200));
      const real: number[] = [];
      for (let i = 0; i < users.length; i += 2) {
        real.push(...(await Promise.all(users.slice(i, i + 2).map((u, j) => from(`192.0.2.${i + j + 1}`, basic(u, `${u}-pw`))))));
      }
      stop = true;
      await Promise.all(loops);
      assert.deepEqual(real, users.map(() => 200), 'every real user logged in');
      assert.ok(flood.some((s) => s === 503 || s === 429), `the flood was refused in part (${[...new Set(flood)].join(',')})`);
      process.stdout.write(`      [flood] ${flood.length} flood requests: ${flood.filter((s) => s === 503).length}×503, ${flood.filter((s) => s === 429).length}×429\n`);
    } finally {
      agent.destroy();
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
      authzClient.close();
      creds.close();
      await authz.stop();
    }
  });
});
