/** The token endpoint, driven with the exact request shapes of each real client (PROTOCOL.md §2), against a stand-in /authorized. */
import assert from 'node:assert/strict';
import request from 'supertest';
import type { KeySet } from '../src/keys/load.js';
import { basic, CountingThrottle, makeKeys, MemCredentials, StandInAuthz, tableRule, tempDir, testApp, verifyIndependently, verifyRefreshIndependently, type TestApp } from './helpers.js';

describe('token endpoint: real client request shapes, against a stand-in /authorized', () => {
  let tmp: ReturnType<typeof tempDir>;
  let keys: KeySet;
  let authz: StandInAuthz;
  let creds: MemCredentials;
  let t: TestApp;
  const S = 'registry.test';

  before(async () => {
    tmp = tempDir();
    keys = await makeKeys(tmp.dir);
    authz = await new StandInAuthz(
      tableRule({
        alice: { 'team-a/': ['pull', 'push'], 'localhost:5000/': ['pull'], catalog: ['*'], shared: ['pull'] },
        '': { public: ['pull'] },
      }),
    ).start();
    creds = new MemCredentials();
    creds.set('alice', 'alice-pw', { team: ['a'] });
  });
  after(async () => {
    await authz.stop();
    tmp.cleanup();
  });
  beforeEach(() => {
    authz.requests = [];
    t = testApp({ keys, authzUrl: authz.url, credentials: creds });
  });
  afterEach(() => t.authzClient.close());

  const pub = () => keys.signing.publicKey;

  it('skopeo/podman: GET with account, repeated scope, Basic → 200 with both token fields, granted access, verifiable JWT', async () => {
    const res = await request(t.app)
      .get(`/auth?account=alice&scope=repository:team-a/app:pull,push&scope=repository:other/x:pull&service=${S}`)
      .set('Authorization', basic('alice', 'alice-pw'))
      .expect(200);
    assert.equal(res.body.token, res.body.access_token);
    assert.ok(res.body.expires_in >= 60);
    assert.ok(!Number.isNaN(Date.parse(res.body.issued_at)));
    assert.equal(res.body.refresh_token, undefined, 'no refresh token unless offline_token=true');
    const { claims } = verifyIndependently(res.body.token, pub());
    assert.equal(claims.sub, 'alice');
    assert.equal(claims.aud, S);
    assert.equal(claims.iss, 'test-issuer');
    assert.deepEqual(claims.access, [{ type: 'repository', name: 'team-a/app', actions: ['pull', 'push'] }]);
    assert.equal((claims.exp as number) - (claims.iat as number), res.body.expires_in);
    // Labels from the credential backend reach authz; one call per scope.
    assert.equal(authz.requests.length, 2);
    assert.deepEqual(authz.requests[0]!.Labels, { team: ['a'] });
    assert.equal(authz.requests[0]!.IP, '127.0.0.1');
  });

  it('every token gets its own jti and the configured lifetime', async () => {
    const jtis = new Set<string>();
    for (let i = 0; i < 20; i++) {
      const res = await request(t.app).get(`/auth?service=${S}`).set('Authorization', basic('alice', 'alice-pw')).expect(200);
      const { claims } = verifyIndependently(res.body.token, pub());
      jtis.add(claims.jti as string);
      assert.equal(res.body.expires_in, 300);
      assert.equal(claims.nbf, claims.iat);
    }
    assert.equal(jtis.size, 20);
  });

  it('podman login: GET without scope → 200 with empty access', async () => {
    const res = await request(t.app).get(`/auth?account=alice&service=${S}`).set('Authorization', basic('alice', 'alice-pw')).expect(200);
    assert.deepEqual(verifyIndependently(res.body.token, pub()).claims.access, []);
    assert.equal(authz.requests.length, 0);
  });

  it('skopeo with a stored identity token: POST refresh_token grant with repeated scope fields', async () => {
    const login = await request(t.app).get(`/auth?account=alice&client_id=docker&offline_token=true&service=${S}`).set('Authorization', basic('alice', 'alice-pw')).expect(200);
    const res = await request(t.app)
      .post('/auth')
      .type('form')
      .send(`client_id=containers/image&grant_type=refresh_token&refresh_token=${login.body.refresh_token}&scope=repository:team-a/app:pull&scope=repository:shared/lib:pull,push&service=${S}`)
      .expect(200);
    const { claims } = verifyIndependently(res.body.access_token, pub());
    assert.deepEqual(claims.access, [
      { type: 'repository', name: 'team-a/app', actions: ['pull'] },
      { type: 'repository', name: 'shared/lib', actions: ['pull'] },
    ]);
    assert.equal(res.body.scope, 'repository:team-a/app:pull repository:shared/lib:pull');
  });

  it('containerd: POST password grant, space-joined scope, no Authorization → access_token', async () => {
    const res = await request(t.app)
      .post('/auth')
      .type('form')
      .send({ client_id: 'containerd-client', grant_type: 'password', username: 'alice', password: 'alice-pw', scope: 'repository:team-a/app:pull repository:team-a/app:push', service: S })
      .expect(200);
    assert.ok(res.body.access_token);
    assert.ok(res.body.expires_in >= 60 && typeof res.body.issued_at === 'string');
    assert.equal(res.body.refresh_token, undefined);
    // The same repository named twice is merged into one scope, one authz call.
    assert.deepEqual(verifyIndependently(res.body.access_token, pub()).claims.access, [{ type: 'repository', name: 'team-a/app', actions: ['pull', 'push'] }]);
    assert.equal(authz.requests.length, 1);
  });

  it('containerd: a wrong password on the POST is 401 (it then falls back to GET), never 403', async () => {
    const res = await request(t.app)
      .post('/auth')
      .type('form')
      .send({ client_id: 'containerd-client', grant_type: 'password', username: 'alice', password: 'nope', scope: 'repository:team-a/app:pull', service: S })
      .expect(401);
    assert.match(res.headers['www-authenticate'] ?? '', /^Basic realm="tollgate"$/);
    assert.equal(res.body.errors[0].code, 'UNAUTHORIZED');
  });

  it('containerd fallback: GET with repeated scope + Basic, no account', async () => {
    const res = await request(t.app).get(`/auth?scope=repository:team-a/app:pull&scope=repository:team-a/app:push&service=${S}`).set('Authorization', basic('alice', 'alice-pw')).expect(200);
    assert.deepEqual(verifyIndependently(res.body.token, pub()).claims.access, [{ type: 'repository', name: 'team-a/app', actions: ['pull', 'push'] }]);
  });

  it('docker login: GET offline_token=true with client_id and no scope → refresh_token; then POST refresh_token grant with space-joined scope', async () => {
    const login = await request(t.app).get(`/auth?account=alice&client_id=docker&offline_token=true&service=${S}`).set('Authorization', basic('alice', 'alice-pw')).expect(200);
    assert.equal(verifyRefreshIndependently(login.body.refresh_token, pub(), 'test-issuer').claims.sub, 'alice');
    assert.deepEqual(verifyIndependently(login.body.token, pub()).claims.access, []);
    for (let i = 0; i < 2; i++) {
      // Docker reuses the same refresh token: it must keep working.
      const res = await request(t.app)
        .post('/token')
        .type('form')
        .send({ grant_type: 'refresh_token', refresh_token: login.body.refresh_token, client_id: 'docker', scope: 'repository:team-a/app:push,pull', service: S })
        .expect(200);
      assert.deepEqual(verifyIndependently(res.body.access_token, pub()).claims.access, [{ type: 'repository', name: 'team-a/app', actions: ['pull', 'push'] }]);
    }
  });

  it('docker without refresh token: GET account + scope + Basic; /auth/token alias works', async () => {
    const res = await request(t.app).get(`/auth/token?account=alice&scope=repository:team-a/app:pull&service=${S}`).set('Authorization', basic('alice', 'alice-pw')).expect(200);
    assert.equal(verifyIndependently(res.body.token, pub()).claims.sub, 'alice');
  });

  it('crane: GET + Basic with one space-joined scope value (host:port name and catalog)', async () => {
    const scope = encodeURIComponent('repository:localhost:5000/foo:pull registry:catalog:*');
    const res = await request(t.app).get(`/token?scope=${scope}&service=${S}`).set('Authorization', basic('alice', 'alice-pw')).expect(200);
    assert.deepEqual(verifyIndependently(res.body.token, pub()).claims.access, [
      { type: 'repository', name: 'localhost:5000/foo', actions: ['pull'] },
      { type: 'registry', name: 'catalog', actions: ['*'] },
    ]);
    assert.equal(authz.requests.find((r) => r.Type === 'registry')?.Name, 'catalog');
  });

  it('cross-repo mount: two scopes, partial grants kept, denied scope left out', async () => {
    const scope = encodeURIComponent('repository:team-a/dst:pull,push repository:shared/src:pull,push repository:secret/x:pull');
    const res = await request(t.app).get(`/auth?account=alice&scope=${scope}&service=${S}`).set('Authorization', basic('alice', 'alice-pw')).expect(200);
    assert.deepEqual(verifyIndependently(res.body.token, pub()).claims.access, [
      { type: 'repository', name: 'team-a/dst', actions: ['pull', 'push'] },
      { type: 'repository', name: 'shared/src', actions: ['pull'] },
    ]);
  });

  it('repository(plugin) scope: authz asked with the base type, class kept in access', async () => {
    const res = await request(t.app).get(`/auth?scope=${encodeURIComponent('repository(plugin):team-a/plug:pull')}&service=${S}`).set('Authorization', basic('alice', 'alice-pw')).expect(200);
    assert.deepEqual(verifyIndependently(res.body.token, pub()).claims.access, [{ type: 'repository', class: 'plugin', name: 'team-a/plug', actions: ['pull'] }]);
    assert.equal(authz.requests[0]!.Type, 'repository');
  });

  it('oauth POST with access_type=offline returns a refresh token', async () => {
    const res = await request(t.app)
      .post('/auth')
      .type('form')
      .send({ grant_type: 'password', username: 'alice', password: 'alice-pw', access_type: 'offline', service: S })
      .expect(200);
    verifyRefreshIndependently(res.body.refresh_token, pub(), 'test-issuer');
    assert.deepEqual(verifyIndependently(res.body.access_token, pub()).claims.access, []);
    assert.equal(res.body.scope, '');
  });

  it('POST to a realm that carries a query string: scope from the query and the form both count, form fields win', async () => {
    const res = await request(t.app)
      .post('/auth?service=not-configured&scope=repository:team-a/app:push')
      .type('form')
      .send({ grant_type: 'password', username: 'alice', password: 'alice-pw', scope: 'repository:shared/lib:pull', service: S })
      .expect(200);
    assert.equal(verifyIndependently(res.body.access_token, pub()).claims.aud, S, 'the form service wins over the query one');
    const multi = testApp({ keys, authzUrl: authz.url, credentials: creds, services: ['reg-a', 'reg-b'] });
    try {
      const fromQuery = await request(multi.app).post('/auth?service=reg-b').type('form').send({ grant_type: 'password', username: 'alice', password: 'alice-pw' }).expect(200);
      assert.equal(verifyIndependently(fromQuery.body.access_token, pub()).claims.aud, 'reg-b', 'service from the query when the form has none');
      // Secrets are never taken from the URL.
      const pwInUrl = await request(multi.app).post('/auth?service=reg-b&password=alice-pw').type('form').send({ grant_type: 'password', username: 'alice' }).expect(400);
      assert.equal(pwInUrl.body.field, 'password');
    } finally {
      multi.authzClient.close();
    }
    assert.deepEqual(verifyIndependently(res.body.access_token, pub()).claims.access, [
      { type: 'repository', name: 'shared/lib', actions: ['pull'] },
      { type: 'repository', name: 'team-a/app', actions: ['push'] },
    ]);
    assert.equal(authz.requests.length, 2);
  });

  it('POST password grant with Basic instead of form fields', async () => {
    const res = await request(t.app).post('/auth').set('Authorization', basic('alice', 'alice-pw')).type('form').send({ grant_type: 'password', scope: 'repository:team-a/app:pull', service: S }).expect(200);
    assert.equal(verifyIndependently(res.body.access_token, pub()).claims.sub, 'alice');
  });

  it('anonymous GET without --anonymous → 401 Basic challenge; with it, authz is asked with Account ""', async () => {
    const scope = 'repository:public/img:pull';
    const denied = await request(t.app).get(`/auth?scope=${scope}&service=${S}`).expect(401);
    assert.match(denied.headers['www-authenticate'] ?? '', /^Basic realm=/);
    assert.equal(authz.requests.length, 0);
    const anon = testApp({ keys, authzUrl: authz.url, credentials: creds, anonymous: true, realm: 'my-realm' });
    try {
      const res = await request(anon.app).get(`/auth?scope=${scope}&service=${S}`).expect(200);
      const { claims } = verifyIndependently(res.body.token, pub());
      assert.equal(claims.sub, '');
      assert.deepEqual(claims.access, [{ type: 'repository', name: 'public/img', actions: ['pull'] }]);
      assert.equal(authz.requests[0]!.Account, '');
      assert.equal(authz.requests[0]!.Labels, null);
      // Asking for an account without credentials is not anonymous: challenge.
      const withAccount = await request(anon.app).get(`/auth?account=alice&scope=${scope}&service=${S}`).expect(401);
      assert.equal(withAccount.headers['www-authenticate'], 'Basic realm="my-realm"');
    } finally {
      anon.authzClient.close();
    }
  });

  it('account different from the Basic user → 400 naming account', async () => {
    const res = await request(t.app).get(`/auth?account=bob&scope=repository:team-a/app:pull&service=${S}`).set('Authorization', basic('alice', 'alice-pw')).expect(400);
    assert.equal(res.body.field, 'account');
    assert.match(res.body.error_description, /does not match/);
    assert.equal(authz.requests.length, 0);
  });

  it('unknown service → 400 naming service; missing service defaults to the only configured one', async () => {
    const res = await request(t.app).get('/auth?service=other&scope=repository:team-a/app:pull').set('Authorization', basic('alice', 'alice-pw')).expect(400);
    assert.equal(res.body.field, 'service');
    const ok = await request(t.app).get('/auth?scope=repository:team-a/app:pull').set('Authorization', basic('alice', 'alice-pw')).expect(200);
    assert.equal(verifyIndependently(ok.body.token, pub()).claims.aud, S);
  });

  it('several --service values: each is its own audience', async () => {
    const multi = testApp({ keys, authzUrl: authz.url, credentials: creds, services: ['reg-a', 'reg-b'] });
    try {
      const res = await request(multi.app).get('/auth?service=reg-b').set('Authorization', basic('alice', 'alice-pw')).expect(200);
      assert.equal(verifyIndependently(res.body.token, pub()).claims.aud, 'reg-b');
      const missing = await request(multi.app).get('/auth').set('Authorization', basic('alice', 'alice-pw')).expect(400);
      assert.equal(missing.body.field, 'service');
    } finally {
      multi.authzClient.close();
    }
  });

  it('throttle: checked before verifying, failures and successes recorded, refused pair → 429 + Retry-After', async () => {
    const throttle = new CountingThrottle(2);
    const th = testApp({ keys, authzUrl: authz.url, credentials: creds, throttle });
    try {
      await request(th.app).get(`/auth?service=${S}`).set('Authorization', basic('alice', 'alice-pw')).expect(200);
      assert.deepEqual(throttle.calls, ['check alice 127.0.0.1', 'success alice 127.0.0.1']);
      await request(th.app).get(`/auth?service=${S}`).set('Authorization', basic('alice', 'bad')).expect(401);
      await request(th.app).get(`/auth?service=${S}`).set('Authorization', basic('ghost', 'bad')).expect(401);
      await request(th.app).get(`/auth?service=${S}`).set('Authorization', basic('alice', 'bad')).expect(401);
      const before = creds.authCalls;
      const res = await request(th.app).get(`/auth?service=${S}`).set('Authorization', basic('alice', 'alice-pw')).expect(429);
      assert.equal(res.headers['retry-after'], '7');
      assert.equal(creds.authCalls, before, 'no password check while throttled');
      assert.ok(throttle.calls.includes('failure ghost 127.0.0.1'), 'unknown users count as failures');
    } finally {
      th.authzClient.close();
    }
  });

  it('RS256 keys sign RS256 tokens that verify', async () => {
    const rsa = await makeKeys(tmp.dir, 'RS256');
    const r = testApp({ keys: rsa, authzUrl: authz.url, credentials: creds });
    try {
      const res = await request(r.app).get(`/auth?scope=repository:team-a/app:pull&service=${S}`).set('Authorization', basic('alice', 'alice-pw')).expect(200);
      assert.equal(verifyIndependently(res.body.token, rsa.signing.publicKey).header.alg, 'RS256');
    } finally {
      r.authzClient.close();
    }
  });
});
