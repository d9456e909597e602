/**
 * Token-endpoint errors are never cached, exactly as its tokens are not (RFC 6749 §5.1/§5.2: the error
 * response carries the same `Cache-Control: no-store` and `Pragma: no-cache`). A 401 or 400 that an HTTP
 * cache kept could keep answering a client whose password or request is fine again.
 */
import assert from 'node:assert/strict';
import request from 'supertest';
import type { KeySet } from '../src/keys/load.js';
import { basic, CountingThrottle, makeKeys, MemCredentials, StandInAuthz, tempDir, testApp, type TestApp } from './helpers.js';

describe('token endpoint errors carry the no-cache headers of its tokens', () => {
  let tmp: ReturnType<typeof tempDir>;
  let keys: KeySet;
  let authz: StandInAuthz;
  let t: TestApp;
  const S = 'registry.test';
  const form = 'application/x-www-form-urlencoded';

  before(async () => {
    tmp = tempDir();
    keys = await makeKeys(tmp.dir);
    authz = await new StandInAuthz(() => ['pull']).start();
    const creds = new MemCredentials();
    creds.set('alice', 'pw');
    t = testApp({ keys, authzUrl: authz.url, credentials: creds, throttle: new CountingThrottle(1) });
  });
  after(async () => {
    t.authzClient.close();
    await authz.stop();
    tmp.cleanup();
  });

  function assertNoCache(res: request.Response, status: number): void {
    assert.equal(res.status, status, res.text);
    assert.equal(res.headers['cache-control'], 'no-store');
    assert.equal(res.headers.pragma, 'no-cache');
    assert.equal(res.headers['content-type'], 'application/json; charset=utf-8');
    assert.equal(Number(res.headers['content-length']), Buffer.byteLength(res.text));
  }

  it('a 401 (wrong password) on GET and on POST', async () => {
    const get = await request(t.app).get(`/auth?service=${S}`).set('Authorization', basic('alice', 'wrong'));
    assertNoCache(get, 401);
    assert.equal(get.headers['www-authenticate'], 'Basic realm="tollgate"');
    assert.equal(get.body.error, 'unauthorized');
    const post = await request(t.app).post('/auth').type(form).send(`grant_type=password&username=bob&password=x&service=${S}`);
    assertNoCache(post, 401);
    assert.equal(post.headers['www-authenticate'], 'Basic realm="tollgate"');
  });

  it('a 400 (unknown service) on GET and on POST', async () => {
    const get = await request(t.app).get('/auth?service=other').set('Authorization', basic('alice', 'pw'));
    assertNoCache(get, 400);
    assert.equal(get.body.field, 'service');
    assert.equal(get.headers['www-authenticate'], undefined);
    const post = await request(t.app).post('/auth').type(form).send('grant_type=password&username=alice&password=pw&service=other');
    assertNoCache(post, 400);
    assert.equal(post.body.field, 'service');
  });

  it('a 429 keeps its Retry-After, a 405 its Allow, and a 404 elsewhere is not cached either', async () => {
    // CountingThrottle(1): one wrong password from this client, then the pair is refused.
    const again = await request(t.app).get(`/auth?service=${S}`).set('Authorization', basic('alice', 'wrong'));
    assertNoCache(again, 429);
    assert.equal(again.headers['retry-after'], '7');
    const put = await request(t.app).put('/auth');
    assertNoCache(put, 405);
    assert.equal(put.headers.allow, 'GET, POST');
    assertNoCache(await request(t.app).get('/nowhere'), 404);
  });
});
