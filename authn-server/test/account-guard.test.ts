/**
 * The per-account failure limit across addresses (throttle/account-guard.ts), through the token endpoint
 * with a real users file: a spray from 1,000 addresses is held to the documented rate, the owner still logs
 * in from an address it used before, and a forged X-Forwarded-For from an untrusted peer changes neither
 * the throttling nor the address sent to authz.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import request from 'supertest';
import { createCredentials, type Credentials } from '../src/credentials/chain.js';
import type { KeySet } from '../src/keys/load.js';
import { parseCidrs } from '../src/request/client-ip.js';
import { createAccountGuard, type AccountGuard } from '../src/throttle/account-guard.js';
import { createLoginThrottle } from '../src/throttle/index.js';
import { basic, logger, makeKeys, StandInAuthz, tempDir, testApp, type TestApp } from './helpers.js';

const S = 'registry.test';

describe('per-account failure limit across addresses', () => {
  let tmp: ReturnType<typeof tempDir>;
  let keys: KeySet;
  let authz: StandInAuthz;
  let creds: Credentials;
  let t: TestApp;
  let guard: AccountGuard;
  let now: number;
  let compares: number;

  before(async () => {
    tmp = tempDir();
    keys = await makeKeys(tmp.dir);
    writeFileSync(join(tmp.dir, 'users.yaml'), `users:\n  alice:\n    password: "${bcrypt.hashSync('alice-pw', 4)}"\n  bob:\n    password: "${bcrypt.hashSync('bob-pw', 4)}"\n`);
  });
  after(() => tmp.cleanup());
  const start = async (trustProxy: boolean): Promise<void> => {
    now = Date.now();
    compares = 0;
    authz = await new StandInAuthz(() => ['pull']).start();
    // No per-client budget here: each sprayed address sends one guess, so it never binds anyway.
    creds = await createCredentials({ logger, usersFile: join(tmp.dir, 'users.yaml'), watch: { watch: false, pollMs: 0 }, hashBudget: false, compare: (p, h) => (compares++, bcrypt.compare(p, h)) });
    guard = createAccountGuard({ now: () => now });
    t = testApp({ keys, authzUrl: authz.url, credentials: creds, throttle: createLoginThrottle({ now: () => now }), accountGuard: guard, ...(trustProxy ? { trustProxy: parseCidrs('127.0.0.1') } : {}) });
  };
  afterEach(async () => {
    t.authzClient.close();
    creds.close();
    await authz.stop();
  });

  const login = (user: string, password: string, from: string) =>
    request(t.app).get(`/auth?service=${S}&scope=repository:a/b:pull`).set('Authorization', basic(user, password)).set('X-Forwarded-For', from);
  const addr = (n: number): string => `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`;

  it('a 1,000-address spray gets 10 password checks, then 429; the owner still logs in from an address it used before', async () => {
    await start(true);
    await login('alice', 'alice-pw', '198.51.100.1').expect(200);
    const checksBefore = compares;
    const statuses: number[] = [];
    let ownerDuring = 0;
    for (let batch = 0; batch < 20; batch++) {
      const res = await Promise.all(Array.from({ length: 50 }, (_, i) => login('alice', `guess-${batch}-${i}`, addr(batch * 50 + i))));
      statuses.push(...res.map((r) => r.status));
      if (batch === 10) ownerDuring = (await login('alice', 'alice-pw', '198.51.100.1')).status;
    }
    assert.equal(statuses.filter((s) => s === 401).length, 10, 'the burst of 10 failures was checked');
    assert.equal(statuses.filter((s) => s === 429).length, 990, 'everything else was refused without a check');
    assert.equal(ownerDuring, 200, 'the owner logged in during the spray');
    assert.ok(compares - checksBefore <= 11, `at most the burst (+ the owner's cached login) ran bcrypt: ${compares - checksBefore}`);
    // A new address of the owner waits like the attacker (documented; a refresh token is the way around).
    const fresh = await login('alice', 'alice-pw', '198.51.100.77');
    assert.equal(fresh.status, 429);
    assert.ok(Number(fresh.headers['retry-after']) >= 1);
    // The rate: 12 checks per hour, so 6 in half an hour.
    now += 1_800_000;
    const half = await Promise.all(Array.from({ length: 40 }, (_, i) => login('alice', `later-${i}`, addr(5000 + i))));
    assert.equal(half.filter((r) => r.status === 401).length, 6);
    // Another account is untouched.
    await login('bob', 'bob-pw', addr(1)).expect(200);
  });

  it('an unknown name is limited the same way, so a 429 does not tell which accounts exist', async () => {
    await start(true);
    const res = await Promise.all(Array.from({ length: 30 }, (_, i) => login('nobody-here', 'x', addr(i))));
    assert.equal(res.filter((r) => r.status === 401).length, 10);
    assert.equal(res.filter((r) => r.status === 429).length, 20);
  });

  it('forged X-Forwarded-For from an untrusted peer changes neither the throttle nor the address sent to authz', async () => {
    await start(false);
    const res: number[] = [];
    for (let i = 0; i < 8; i++) res.push((await login('alice', `guess-${i}`, addr(i))).status);
    // All from one client (the peer): the pair throttle's 5 free failures, then 429 — not 8 fresh addresses.
    assert.deepEqual(res, [401, 401, 401, 401, 401, 429, 429, 429]);
    await login('bob', 'bob-pw', '192.0.2.7').expect(200);
    assert.equal(authz.requests.at(-1)!.IP, '127.0.0.1', 'authz saw the peer, not the forged address');
  });
});

describe('per-account failure limit: memory', () => {
  it('spraying made-up names cannot evict (and so reset) a real account\'s spent bucket', () => {
    let t = 0;
    const g = createAccountGuard({ maxAccounts: 50, now: () => t });
    for (let i = 0; i < 10; i++) {
      const gate = g.check('alice', `10.0.0.${i}`);
      assert.ok(gate.allowed);
      g.recordFailure('alice', `10.0.0.${i}`, true, gate.reserved);
    }
    assert.equal(g.check('alice', '10.0.1.1').allowed, false);
    for (let i = 0; i < 1000; i++) {
      const gate = g.check(`made-up-${i}`, '10.0.2.1');
      if (gate.allowed) g.recordFailure(`made-up-${i}`, '10.0.2.1', false, gate.reserved);
    }
    assert.equal(g.check('alice', '10.0.1.2').allowed, false, 'alice is still spent');
    t += 300_000;
    assert.equal(g.check('alice', '10.0.1.3').allowed, true, 'one failure regained after 5 minutes (12 per hour)');
  });
});
