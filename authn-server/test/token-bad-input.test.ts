/** Bad input to the token endpoint: always a 4xx JSON error naming the field, never 5xx, never a crash. */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import type { KeySet } from '../src/keys/load.js';
import { basic, makeKeys, MemCredentials, StandInAuthz, tempDir, testApp, verifyIndependently, type TestApp } from './helpers.js';

describe('token endpoint bad input, against a stand-in /authorized', () => {
  let tmp: ReturnType<typeof tempDir>;
  let keys: KeySet;
  let authz: StandInAuthz;
  let creds: MemCredentials;
  let t: TestApp;
  const S = 'registry.test';
  const alice = basic('alice', 'pw');

  before(async () => {
    tmp = tempDir();
    keys = await makeKeys(tmp.dir);
    authz = await new StandInAuthz(() => ['pull']).start();
    creds = new MemCredentials();
    creds.set('alice', 'pw');
    creds.set('carol', 'p:a:ss');
    creds.set('dave', 'pässwörd ✓');
    creds.set('erin', '');
    // A generous authz timeout: 64 parallel calls on a loaded machine must not turn into a 503 here.
    t = testApp({ keys, authzUrl: authz.url, credentials: creds, timeoutMs: 5000 });
  });
  after(async () => {
    t.authzClient.close();
    await authz.stop();
    tmp.cleanup();
  });

  function assertClientError(res: request.Response, status: number, field?: string): void {
    assert.equal(res.status, status, JSON.stringify(res.body));
    assert.equal(typeof res.body.error_description, 'string');
    assert.ok(res.body.errors[0].message);
    if (field) assert.equal(res.body.field, field);
  }

  /** Sends exact body bytes (supertest re-encodes strings). */
  async function rawPost(body: Buffer): Promise<{ status: number; body: Record<string, string> }> {
    const server = http.createServer(t.app).listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    try {
      const port = (server.address() as AddressInfo).port;
      return await new Promise((resolve, reject) => {
        const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: '/auth', headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'Content-Length': body.length } }, (res) => {
          let text = '';
          res.on('data', (c: Buffer) => (text += c.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as Record<string, string> }));
        });
        req.on('error', reject);
        req.end(body);
      });
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  }

  for (const [label, header] of [
    ['not base64', 'Basic !!!!'],
    ['no colon', `Basic ${Buffer.from('alice').toString('base64')}`],
    ['empty user', `Basic ${Buffer.from(':pw').toString('base64')}`],
    ['non-UTF-8 credentials', `Basic ${Buffer.from([0x61, 0xff, 0x3a, 0x62]).toString('base64')}`],
    ['no credentials after Basic', 'Basic'],
  ] as const) {
    it(`broken Basic header (${label}) → 400 naming Authorization`, async () => {
      assertClientError(await request(t.app).get(`/auth?service=${S}`).set('Authorization', header), 400, 'Authorization');
    });
  }

  it('odd but valid Basic headers log in: lowercase scheme, tab, ":" inside the password, UTF-8 password, empty password', async () => {
    const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');
    for (const [header, user] of [
      [`basic ${b64('alice:pw')}`, 'alice'],
      [`BASIC\t${b64('alice:pw')}`, 'alice'],
      [`Basic ${b64('carol:p:a:ss')}`, 'carol'],
      [`Basic ${b64('dave:pässwörd ✓')}`, 'dave'],
      [`Basic ${b64('erin:')}`, 'erin'],
    ] as const) {
      const res = await request(t.app).get(`/auth?service=${S}&account=${user}`).set('Authorization', header).expect(200);
      assert.equal(verifyIndependently(res.body.token, keys.signing.publicKey).claims.sub, user, header);
    }
    // Only the first ':' splits: "carol:p" is not the user.
    await request(t.app).get(`/auth?service=${S}`).set('Authorization', `Basic ${b64('carol:p:a:sS')}`).expect(401);
    assertClientError(await request(t.app).get(`/auth?service=${S}`).set('Authorization', `Basic ${b64('alice:pw').replace(/=+$/, '')}`), 400, 'Authorization');
    assertClientError(await request(t.app).get(`/auth?service=${S}`).set('Authorization', `Basic ${b64('alice:pw')} extra`), 400, 'Authorization');
  });

  it('scopes a registry would never send (uppercase paths, "..", "//", wildcards) → 400 naming the scope, authz not asked', async () => {
    const before = authz.requests.length;
    for (const scope of ['repository:team-a/App:pull', 'repository:team-a/../b:pull', 'repository:a//b:pull', 'repository:team-a/*:pull', 'repository:a:b:c:pull']) {
      const res = await request(t.app).get(`/auth?service=${S}&scope=${encodeURIComponent(scope)}`).set('Authorization', alice);
      assertClientError(res, 400, 'scope');
      assert.ok(res.body.error_description.includes(scope), scope);
    }
    assert.equal(authz.requests.length, before);
  });

  it('another auth scheme is not Basic credentials → 401 challenge', async () => {
    const res = await request(t.app).get(`/auth?service=${S}&scope=repository:a/b:pull`).set('Authorization', 'Bearer abc');
    assertClientError(res, 401);
    assert.match(res.headers['www-authenticate'] ?? '', /^Basic /);
  });

  for (const [scope, why] of [
    ['repository:foo', /type:name:actions/],
    ['repository', /type:name:actions/],
    ['Repository:foo:pull', /resource type/],
    ['repository:foo:', /empty action/],
    ['repository:foo:pull,,push', /empty action/],
    ['repository:fo*o:pull', /resource name/],
    ['repository:foo:PULL', /invalid action/],
    [`repository:${'a'.repeat(300)}:pull`, /longer than 255/],
    ['repository(:foo:pull', /resource type/],
  ] as const) {
    it(`malformed scope ${JSON.stringify(scope.slice(0, 30))} → 400 naming it`, async () => {
      const res = await request(t.app).get(`/auth?service=${S}&scope=${encodeURIComponent(scope)}`).set('Authorization', alice);
      assertClientError(res, 400, 'scope');
      assert.match(res.body.error_description, why);
      assert.ok(res.body.error_description.includes(scope.slice(0, 20)), 'message quotes the scope');
    });
  }

  it('64 scopes are fine; 65 → 400; 10k scopes in one POST body → 400 without asking authz', async () => {
    const names = (n: number) => Array.from({ length: n }, (_, i) => `repository:r/${i}:pull`).join(' ');
    const before = authz.requests.length;
    const ok = await request(t.app).get(`/auth?service=${S}&scope=${encodeURIComponent(names(64))}`).set('Authorization', alice).expect(200);
    assert.ok(ok.body.token);
    assert.equal(authz.requests.length - before, 64);
    assertClientError(await request(t.app).get(`/auth?service=${S}&scope=${encodeURIComponent(names(65))}`).set('Authorization', alice), 400, 'scope');
    // Spaces as `+`, colons unencoded: 10k scopes in about 60 kB, under the 64 kB body limit.
    const many = Array.from({ length: 10000 }, () => 'a:b:c').join('+');
    const res = await request(t.app).post('/auth').type('form').send(`grant_type=password&username=alice&password=pw&service=${S}&scope=${many}`);
    assertClientError(res, 400, 'scope');
    assert.match(res.body.error_description, /at most 64/);
    assert.equal(authz.requests.length - before, 64);
  });

  it('non-UTF-8 in query or body → 400 naming the field', async () => {
    const q = await request(t.app).get(`/auth?service=${S}&scope=repository:%ff%fe:pull`).set('Authorization', alice);
    assertClientError(q, 400, 'scope');
    assert.match(q.body.error_description, /UTF-8/);
    const raw = await rawPost(Buffer.concat([Buffer.from('grant_type=password&username=al'), Buffer.from([0xff]), Buffer.from('&password=pw')]));
    assert.equal(raw.status, 400);
    assert.equal(raw.body.field, 'body');
    assert.match(raw.body.error_description ?? '', /UTF-8/);
    assertClientError(await request(t.app).get(`/auth?service=${S}&account=%zz`).set('Authorization', alice), 400, 'account');
  });

  it('huge body → 413; too many fields → 400; huge headers are refused by the HTTP server (431)', async () => {
    assertClientError(await request(t.app).post('/auth').type('form').send(`grant_type=password&x=${'a'.repeat(70000)}`), 413, 'body');
    assertClientError(await request(t.app).get(`/auth?service=${S}&${'a=1&'.repeat(300)}`).set('Authorization', alice), 400, 'query');
    // A real server with Node's default header limit: the request never reaches the app.
    const server = http.createServer({ maxHeaderSize: 16384 }, t.app).listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    try {
      const port = (server.address() as AddressInfo).port;
      const status = await new Promise<number>((resolve, reject) => {
        const req = http.get({ host: '127.0.0.1', port, path: `/auth?service=${S}`, headers: { Authorization: alice, 'X-Big': 'x'.repeat(40000) } }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on('error', reject);
      });
      assert.equal(status, 431);
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });

  it('unsupported, missing and repeated grant fields → 400 with OAuth error codes', async () => {
    const res = await request(t.app).post('/auth').type('form').send({ grant_type: 'client_credentials', service: S });
    assertClientError(res, 400, 'grant_type');
    assert.equal(res.body.error, 'unsupported_grant_type');
    assertClientError(await request(t.app).post('/auth').type('form').send({ service: S }), 400, 'grant_type');
    assertClientError(await request(t.app).post('/auth').type('form').send('grant_type=password&grant_type=refresh_token'), 400, 'grant_type');
    assertClientError(await request(t.app).post('/auth').type('form').send({ grant_type: 'password', username: 'alice', service: S }), 400, 'password');
    assertClientError(await request(t.app).post('/auth').type('form').send({ grant_type: 'password', service: S }), 401);
    assertClientError(await request(t.app).post('/auth').type('form').send({ grant_type: 'password', username: 'a\u0001b', password: 'x', service: S }), 400, 'username');
    assertClientError(await request(t.app).post('/auth').type('form').send({ grant_type: 'password', username: 'u'.repeat(300), password: 'x', service: S }), 400, 'username');
  });

  it('POST with a JSON body → 415; other methods (HEAD too) → 405; unknown path → 404 JSON', async () => {
    assertClientError(await request(t.app).post('/auth').send({ grant_type: 'password' }), 415, 'body');
    const put = await request(t.app).put('/auth');
    assertClientError(put, 405);
    assert.equal(put.headers.allow, 'GET, POST');
    const before = creds.authCalls;
    const head = await request(t.app).head(`/auth?service=${S}`).set('Authorization', alice).expect(405);
    assert.equal(head.headers.allow, 'GET, POST');
    assert.equal(creds.authCalls, before, 'HEAD does not log in');
    assertClientError(await request(t.app).get('/nope'), 404);
  });

  it('wrong password and unknown user both → 401 with the same body', async () => {
    const a = await request(t.app).get(`/auth?service=${S}`).set('Authorization', basic('alice', 'bad'));
    const b = await request(t.app).get(`/auth?service=${S}`).set('Authorization', basic('nobody', 'bad'));
    assertClientError(a, 401);
    assert.deepEqual(a.body, b.body);
  });

  it('a credential backend failure → 503 + Retry-After, not a 401 and not a crash', async () => {
    creds.failWith = new Error('disk gone');
    try {
      const res = await request(t.app).get(`/auth?service=${S}`).set('Authorization', alice);
      assertClientError(res, 503);
      assert.ok(Number(res.headers['retry-after']) > 0);
    } finally {
      creds.failWith = undefined;
    }
  });

  it('POST without a form body never reads username, password or refresh_token from the URL (secrets only from the form)', async () => {
    const before = creds.authCalls;
    const inUrl = `/auth?service=${S}&grant_type=password&username=alice&password=pw`;
    // No Content-Type and no body; another Content-Type with an empty body; the form type with an empty body.
    for (const res of [
      await request(t.app).post(inUrl),
      await request(t.app).post(inUrl).set('Content-Type', 'text/plain'),
      await request(t.app).post(inUrl).set('Content-Type', 'application/x-www-form-urlencoded'),
    ]) {
      assertClientError(res, 401);
      assert.equal(res.body.token, undefined);
    }
    assert.equal(creds.authCalls, before, 'no password check ran with credentials from the URL');
    const refresh = await request(t.app).post(`/auth?service=${S}&grant_type=refresh_token&refresh_token=x.y.z`);
    assertClientError(refresh, 400, 'refresh_token');
    // With Basic credentials, a user name in the URL is ignored too (not paired with the header's password).
    const basicLogin = await request(t.app).post(`/auth?service=${S}&grant_type=password&username=carol`).set('Authorization', alice);
    assert.equal(basicLogin.status, 200, JSON.stringify(basicLogin.body));
  });
});
