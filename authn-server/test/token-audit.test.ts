/** One audit line per token request, with what an operator needs to answer "who got what, and why not" — and no secrets. */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import request from 'supertest';
import { createLogger } from '../../common/logger.js';
import type { KeySet } from '../src/keys/load.js';
import { basic, CountingThrottle, makeKeys, MemCredentials, StandInAuthz, tableRule, tempDir, testApp, verifyIndependently, type TestApp } from './helpers.js';

interface AuditLine {
  level: number;
  msg: string;
  audit: Record<string, unknown>;
}

describe('token request audit log', () => {
  let tmp: ReturnType<typeof tempDir>;
  let keys: KeySet;
  let authz: StandInAuthz;
  let lines: string[];
  let t: TestApp;
  const S = 'registry.test';

  before(async () => {
    tmp = tempDir();
    keys = await makeKeys(tmp.dir);
    authz = await new StandInAuthz(tableRule({ alice: { 'team-a/': ['pull', 'push'], 'shared/': ['pull'] } })).start();
  });
  after(async () => {
    await authz.stop();
    tmp.cleanup();
  });
  beforeEach(() => {
    lines = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, cb) {
        lines.push(chunk.toString());
        cb();
      },
    });
    const creds = new MemCredentials();
    creds.set('alice', 'alice-secret-pw');
    t = testApp({ keys, authzUrl: authz.url, credentials: creds, throttle: new CountingThrottle(1), logger: createLogger({ name: 'audit-test', level: 'info', destination: sink }) });
  });
  afterEach(() => t.authzClient.close());

  const audits = (): AuditLine[] => lines.map((l) => JSON.parse(l) as AuditLine).filter((l) => l.msg === 'token issued' || l.msg === 'token refused');

  it('an issued token: account, IP, client_id, requested, granted, each denial with its reason, the jti, whether a refresh token went out', async () => {
    const scope = encodeURIComponent('repository:team-a/app:pull,push repository:shared/lib:pull,push repository:secret/x:pull');
    const res = await request(t.app)
      .get(`/auth?account=alice&client_id=docker&offline_token=true&service=${S}&scope=${scope}`)
      .set('Authorization', basic('alice', 'alice-secret-pw'))
      .expect(200);
    const [line, ...rest] = audits();
    assert.equal(rest.length, 0, 'exactly one audit line');
    assert.equal(line!.msg, 'token issued');
    assert.deepEqual(line!.audit, {
      ip: '127.0.0.1',
      method: 'GET',
      client_id: 'docker',
      service: S,
      requested: ['repository:team-a/app:pull,push', 'repository:shared/lib:pull,push', 'repository:secret/x:pull'],
      account: 'alice',
      grant: 'basic',
      granted: ['repository:team-a/app:pull,push', 'repository:shared/lib:pull'],
      denied: [
        { scope: 'repository:shared/lib:pull,push', reason: 'authz denied push' },
        { scope: 'repository:secret/x:pull', reason: 'authz denied pull' },
      ],
      jti: verifyIndependently(res.body.token, keys.signing.publicKey).claims.jti,
      refresh_issued: true,
      outcome: 'issued',
    });
    const all = lines.join('\n');
    assert.ok(!all.includes('alice-secret-pw'), 'no password');
    assert.ok(!all.includes(res.body.token) && !all.includes(res.body.refresh_token), 'no tokens');
  });

  it('a refused login names the account that was tried, the status and the reason', async () => {
    await request(t.app).get(`/auth?service=${S}&scope=repository:team-a/app:pull`).set('Authorization', basic('alice', 'wrong-guess')).expect(401);
    await request(t.app).get(`/auth?service=${S}`).set('Authorization', basic('alice', 'alice-secret-pw')).expect(429);
    await request(t.app).post('/auth').type('form').send({ grant_type: 'password', username: 'mallory', password: 'x', service: S, client_id: 'containerd-client' }).expect(401);
    const [wrong, throttled, unknown] = audits();
    assert.equal(wrong!.msg, 'token refused');
    assert.equal(wrong!.level, 40);
    assert.deepEqual(
      { account: wrong!.audit.account, status: wrong!.audit.status, outcome: wrong!.audit.outcome, reason: wrong!.audit.reason, requested: wrong!.audit.requested },
      { account: 'alice', status: 401, outcome: 'unauthorized', reason: 'invalid username or password', requested: ['repository:team-a/app:pull'] },
    );
    assert.deepEqual([throttled!.audit.account, throttled!.audit.status], ['alice', 429]);
    assert.deepEqual([unknown!.audit.account, unknown!.audit.client_id, unknown!.audit.method], ['mallory', 'containerd-client', 'POST']);
    assert.ok(!lines.join('\n').includes('wrong-guess'));
  });

  it('a body the parser refuses (too large, broken gzip) still gets its audit line', async () => {
    await request(t.app).post('/auth').type('form').send(`grant_type=password&username=alice&x=${'a'.repeat(70_000)}`).expect(413);
    await request(t.app).post('/token').type('form').set('Content-Encoding', 'gzip').send('not gzip').expect(400);
    const [big, gzip, ...rest] = audits();
    assert.equal(rest.length, 0);
    assert.deepEqual([big!.msg, big!.audit.status, big!.audit.outcome, big!.audit.method, big!.audit.ip], ['token refused', 413, 'body_too_large', 'POST', '127.0.0.1']);
    assert.deepEqual([gzip!.audit.status, gzip!.audit.outcome], [400, 'invalid_request']);
  });

  it('authz unavailable: one error-level line with the account and 503', async () => {
    authz.mode = 'error';
    try {
      await request(t.app).get(`/auth?service=${S}&scope=repository:team-a/app:pull`).set('Authorization', basic('alice', 'alice-secret-pw')).expect(503);
    } finally {
      authz.mode = 'ok';
    }
    const [line, ...rest] = audits();
    assert.equal(rest.length, 0);
    assert.equal(line!.level, 50);
    assert.deepEqual([line!.audit.account, line!.audit.status, line!.audit.outcome], ['alice', 503, 'unavailable']);
  });

  it('attacker-controlled fields are cut to 256 characters and 16 list entries: ten oversized refused requests stay small', async () => {
    const longClient = 'c'.repeat(45_000);
    const scopes = Array.from({ length: 64 }, (_, i) => `repository:${'n'.repeat(200)}${i}:pull`).join(' ');
    for (let i = 0; i < 10; i++) {
      await request(t.app).post('/auth').type('form').send({ grant_type: 'password', service: S, client_id: longClient, scope: scopes }).set('Authorization', basic('mallory', 'x')).expect(i === 0 ? 401 : 429); // CountingThrottle(1)
    }
    const [line] = audits();
    assert.equal(line!.audit.client_id, `${'c'.repeat(256)}…[+${45_000 - 256}]`);
    const requested = line!.audit.requested as string[];
    assert.equal(requested.length, 17);
    assert.equal(requested[16], '…[+48 more]');
    assert.ok(requested.slice(0, 16).every((r) => r.length <= 256 + 12));
    const bytes = lines.join('').length;
    assert.ok(bytes < 10 * 8 * 1024, `ten refused requests logged ${bytes} bytes`);
  });
});
