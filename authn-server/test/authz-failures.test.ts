/** Fail closed: when /authorized cannot answer, the token request is 503 + Retry-After and no token carries access. */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import { createAuthzClient } from '../src/authz-client/index.js';
import type { KeySet } from '../src/keys/load.js';
import { createMetrics } from '../src/metrics/index.js';
import { ChangeFeed } from '../src/authz-client/feed.js';
import { Writable } from 'node:stream';
import { createLogger } from '../../common/logger.js';
import { basic, CLIENT_TOKEN, makeKeys, MemCredentials, StandInAuthz, tempDir, testApp, verifyIndependently, waitFor } from './helpers.js';

describe('authz failures and the decision cache, against a stand-in /authorized', () => {
  let tmp: ReturnType<typeof tempDir>;
  let keys: KeySet;
  let authz: StandInAuthz;
  let creds: MemCredentials;
  const S = 'registry.test';
  const alice = basic('alice', 'pw');
  const scopeUrl = `/auth?service=${S}&scope=repository:a/b:pull&scope=repository:a/c:pull`;

  before(async () => {
    tmp = tempDir();
    keys = await makeKeys(tmp.dir);
    authz = await new StandInAuthz(() => ['pull']).start();
    creds = new MemCredentials();
    creds.set('alice', 'pw');
  });
  after(async () => {
    await authz.stop();
    tmp.cleanup();
  });
  afterEach(() => {
    authz.mode = 'ok';
    authz.requests = [];
  });

  for (const mode of ['error', 'slow', 'garbage'] as const) {
    it(`authz ${mode === 'error' ? 'answering 500' : mode === 'slow' ? 'timing out' : 'sending a non-JSON body'} → 503 + Retry-After, no token`, async () => {
      const t = testApp({ keys, authzUrl: authz.url, credentials: creds, timeoutMs: 300 });
      authz.mode = mode;
      try {
        const res = await request(t.app).get(scopeUrl).set('Authorization', alice).expect(503);
        assert.ok(Number(res.headers['retry-after']) >= 1);
        assert.equal(res.body.token, undefined);
        assert.equal(res.body.error, 'unavailable');
      } finally {
        t.authzClient.close();
      }
    });
  }

  it('authz not listening at all → 503; login without scope still works (no authz call needed)', async () => {
    const t = testApp({ keys, authzUrl: 'http://127.0.0.1:1', credentials: creds });
    try {
      await request(t.app).get(scopeUrl).set('Authorization', alice).expect(503);
      const res = await request(t.app).get(`/auth?service=${S}`).set('Authorization', alice).expect(200);
      assert.deepEqual(verifyIndependently(res.body.token, keys.signing.publicKey).claims.access, []);
      const ready = await request(t.app).get('/readyz').expect(503);
      assert.equal(ready.body.checks.authz, false);
    } finally {
      t.authzClient.close();
    }
  });

  it('a wrong client token (authz answers 401) fails closed → 503', async () => {
    const client = createAuthzClient({ url: authz.url, token: 'wrong-token' });
    const t = testApp({ keys, authzUrl: authz.url, credentials: creds, authz: client });
    try {
      await request(t.app).get(scopeUrl).set('Authorization', alice).expect(503);
    } finally {
      client.close();
    }
  });

  it('retries once when the connection is reset, and only once', async () => {
    let hits = 0;
    let resetFirst = 1;
    const flaky = http.createServer((req, res) => {
      hits++;
      if (resetFirst-- > 0) return void req.socket.destroy();
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        res.setHeader('Content-Type', 'application/json');
        res.end(JSON.stringify({ allowed: true, actions: (JSON.parse(body) as { Actions: string[] }).Actions }));
      });
    });
    flaky.listen(0, '127.0.0.1');
    await new Promise((r) => flaky.once('listening', r));
    const url = `http://127.0.0.1:${(flaky.address() as AddressInfo).port}`;
    const client = createAuthzClient({ url, token: CLIENT_TOKEN });
    try {
      const ok = await client.authorize({ Account: 'a', Type: 'repository', Name: 'x', Service: S, IP: '1.2.3.4', Actions: ['pull'] });
      assert.deepEqual(ok, { allowed: true, actions: ['pull'] });
      assert.equal(hits, 2);
      hits = 0;
      resetFirst = 2;
      await assert.rejects(client.authorize({ Account: 'a', Type: 'repository', Name: 'x', Service: S, IP: '1.2.3.4', Actions: ['pull'] }), /unreachable/);
      assert.equal(hits, 2, 'one retry, not more');
    } finally {
      client.close();
      flaky.closeAllConnections();
      await new Promise((r) => flaky.close(r));
    }
  });

  it('asks about all scopes in parallel, and grants only what authz grants AND was asked', async () => {
    // Answers only once every scope's call is in flight: sequential calls would time out (→ 503).
    const pending: Array<{ body: { Actions: string[]; Name: string }; res: http.ServerResponse }> = [];
    const barrier = http.createServer((req, res) => {
      let text = '';
      req.on('data', (c: Buffer) => (text += c.toString()));
      req.on('end', () => {
        pending.push({ body: JSON.parse(text) as { Actions: string[]; Name: string }, res });
        if (pending.length < 4) return;
        for (const p of pending) {
          // Over-generous answers (actions nobody asked for) must not leak into the token.
          const actions = p.body.Name === 'a/none' ? [] : ['delete', 'pull', 'push', '*'];
          p.res.writeHead(p.body.Name === 'a/none' ? 403 : 200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ allowed: p.body.Name !== 'a/none', actions }));
        }
      });
    });
    barrier.listen(0, '127.0.0.1');
    await new Promise((r) => barrier.once('listening', r));
    const client = createAuthzClient({ url: `http://127.0.0.1:${(barrier.address() as AddressInfo).port}`, token: CLIENT_TOKEN, timeoutMs: 2000 });
    const t = testApp({ keys, authzUrl: '', credentials: creds, authz: client });
    try {
      const scope = encodeURIComponent('repository:a/one:pull repository:a/two:pull,push repository:a/three:push repository:a/none:pull');
      const res = await request(t.app).get(`/auth?service=${S}&scope=${scope}`).set('Authorization', alice).expect(200);
      assert.deepEqual(verifyIndependently(res.body.token, keys.signing.publicKey).claims.access, [
        { type: 'repository', name: 'a/one', actions: ['pull'] },
        { type: 'repository', name: 'a/two', actions: ['pull', 'push'] },
        { type: 'repository', name: 'a/three', actions: ['push'] },
      ]);
    } finally {
      client.close();
      barrier.closeAllConnections();
      await new Promise((r) => barrier.close(r));
    }
  });

  it('an authz without the change feed (older version, feed disabled) → caching off, logged once; failures never cached', async () => {
    const lines: string[] = [];
    const log = createLogger({ name: 'feed-test', level: 'info', destination: new Writable({ write: (c: Buffer, _e, cb) => (lines.push(c.toString()), cb()) }) });
    const feed = new ChangeFeed({ url: authz.url, token: CLIENT_TOKEN, logger: log });
    feed.start();
    const t = testApp({ keys, authzUrl: authz.url, credentials: creds, decisionCacheTtlMs: 60_000, feed });
    try {
      await waitFor(() => feed.state === 'unsupported');
      for (let i = 0; i < 3; i++) await request(t.app).get(scopeUrl).set('Authorization', alice).expect(200);
      assert.equal(authz.requests.length, 6, 'every request asked authz (2 scopes × 3)');
      authz.mode = 'error';
      await request(t.app).get(scopeUrl).set('Authorization', alice).expect(503);
      const said = lines.filter((l) => l.includes('no change feed'));
      assert.equal(said.length, 1, 'logged once');
    } finally {
      feed.stop();
      t.authzClient.close();
    }
  });

  it('without the cache every token request asks authz again', async () => {
    const t = testApp({ keys, authzUrl: authz.url, credentials: creds });
    try {
      await request(t.app).get(scopeUrl).set('Authorization', alice).expect(200);
      await request(t.app).get(scopeUrl).set('Authorization', alice).expect(200);
      assert.equal(authz.requests.length, 4);
    } finally {
      t.authzClient.close();
    }
  });

  it('/metrics with a metrics token: 401 without it or with another one (no data), 200 with it', async () => {
    const token = 'metrics-token-0123456789abcdef0123456789';
    const t = testApp({ keys, authzUrl: authz.url, credentials: creds, metrics: createMetrics(false), metricsToken: token });
    try {
      const none = await request(t.app).get('/metrics');
      assert.equal(none.status, 401);
      assert.match(none.headers['www-authenticate'] ?? '', /^Bearer /);
      assert.doesNotMatch(none.text, /tollgate_authn_/);
      assert.equal((await request(t.app).get('/metrics').set('Authorization', 'Bearer metrics-token-0123456789abcdef012345678X')).status, 401);
      const ok = await request(t.app).get('/metrics').set('Authorization', `Bearer ${token}`);
      assert.equal(ok.status, 200);
      assert.match(ok.text, /tollgate_authn_tokens_issued_total/);
      await request(t.app).get('/healthz').expect(200);
    } finally {
      t.authzClient.close();
    }
  });

  it('healthz, readyz, metrics and JWKS', async () => {
    const metrics = createMetrics(false);
    const t = testApp({ keys, authzUrl: authz.url, credentials: creds, metrics });
    try {
      await request(t.app).get('/healthz').expect(200);
      const ready = await request(t.app).get('/readyz').expect(200);
      assert.deepEqual(ready.body.checks, { keys: true, authz: true, authz_token: true });
      await request(t.app).get(scopeUrl).set('Authorization', alice).expect(200);
      await request(t.app).get(`/auth?service=${S}`).set('Authorization', basic('alice', 'bad')).expect(401);
      const text = (await request(t.app).get('/metrics').expect(200)).text;
      assert.match(text, /tollgate_authn_tokens_issued_total\{grant="basic"\} 1/);
      assert.match(text, /tollgate_authn_token_requests_denied_total\{reason="unauthorized"\} 1/);
      const jwks = (await request(t.app).get('/.well-known/jwks.json').expect(200)).body;
      assert.equal(jwks.keys.length, 1);
      assert.equal(jwks.keys[0].kid, keys.signing.kid);
      assert.equal(jwks.keys[0].alg, 'ES256');
      assert.equal(jwks.keys[0].d, undefined, 'no private part');
    } finally {
      t.authzClient.close();
    }
  });
});
