/**
 * app.ts answers `GET` on the exact token paths without express (a CPU fast path); every other
 * request goes through express. Both must behave the same: headers, body shape, metrics labels,
 * error rendering — and an unexpected error is still a logged 500, not a hung request.
 */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import request from 'supertest';
import { createLogger } from '../../common/logger.js';
import { createMetrics } from '../src/metrics/index.js';
import type { KeySet } from '../src/keys/load.js';
import { basic, makeKeys, MemCredentials, StandInAuthz, tableRule, tempDir, testApp, verifyIndependently } from './helpers.js';

describe('token endpoint fast path (GET without express)', () => {
  let tmp: ReturnType<typeof tempDir>;
  let keys: KeySet;
  let authz: StandInAuthz;
  const S = 'registry.test';
  const scope = 'repository:team-a/app:pull,push';

  before(async () => {
    tmp = tempDir();
    keys = await makeKeys(tmp.dir);
    authz = await new StandInAuthz(tableRule({ alice: { 'team-a/': ['pull'] } })).start();
  });
  after(async () => {
    await authz.stop();
    tmp.cleanup();
  });

  const creds = (): MemCredentials => {
    const c = new MemCredentials();
    c.set('alice', 'alice-pw');
    return c;
  };

  it('answers exactly like the express route (/auth/ and /AUTH still go through express)', async () => {
    const metrics = createMetrics(false);
    const t = testApp({ keys, authzUrl: authz.url, credentials: creds(), metrics });
    try {
      for (const path of ['/auth', '/auth/', '/AUTH', '/token', '/auth/token']) {
        const res = await request(t.app).get(`${path}?service=${S}&scope=${scope}`).set('Authorization', basic('alice', 'alice-pw')).expect(200);
        assert.equal(res.headers['content-type'], 'application/json; charset=utf-8');
        assert.equal(res.headers['cache-control'], 'no-store');
        assert.equal(res.headers.pragma, 'no-cache');
        assert.equal(Number(res.headers['content-length']), Buffer.byteLength(res.text));
        assert.equal(res.headers['x-powered-by'], undefined);
        assert.equal(res.headers.etag, undefined);
        assert.deepEqual(Object.keys(res.body), ['token', 'access_token', 'token_type', 'scope', 'expires_in', 'issued_at']);
        assert.equal(res.body.scope, 'repository:team-a/app:pull');
        const d = verifyIndependently(res.body.token as string, keys.signing.publicKey);
        assert.equal(d.claims.aud, S);
        assert.equal(d.claims.sub, 'alice');
      }
      // Errors render the same way on both paths.
      for (const path of ['/auth', '/auth/']) {
        const res = await request(t.app).get(`${path}?service=${S}`).set('Authorization', basic('alice', 'wrong')).expect(401);
        assert.equal(res.headers['www-authenticate'], 'Basic realm="tollgate"');
        assert.equal(res.headers['content-type'], 'application/json; charset=utf-8');
        assert.equal(res.body.error, 'unauthorized');
      }
      await request(t.app).head(`/auth?service=${S}`).expect(405);
      // One histogram label for the token route, whichever path served it.
      const text = await metrics.registry.metrics();
      const count = /tollgate_authn_http_request_duration_seconds_count\{method="GET",route="\/auth,\/token,\/auth\/token",status="200"\} (\d+)/.exec(text);
      assert.equal(count?.[1], '5', text);
      assert.match(text, /tollgate_authn_http_request_duration_seconds_count\{method="GET",route="\/auth,\/token,\/auth\/token",status="401"\} 2/);
    } finally {
      t.authzClient.close();
    }
  });

  it('an unexpected error on the fast path is logged and answered 500, as express would', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, cb) {
        lines.push(chunk.toString());
        cb();
      },
    });
    const broken = { authorize: () => Promise.reject(new TypeError('boom')), call: () => Promise.reject(new TypeError('boom')), ping: async () => true, close: () => undefined };
    const t = testApp({ keys, authzUrl: authz.url, credentials: creds(), authz: broken, logger: createLogger({ name: 'fast-test', level: 'info', destination: sink }) });
    for (const path of ['/auth', '/auth/']) {
      const res = await request(t.app).get(`${path}?service=${S}&scope=${scope}`).set('Authorization', basic('alice', 'alice-pw')).expect(500);
      assert.equal(res.body.error, 'internal');
    }
    const errors = lines.map((l) => JSON.parse(l) as { msg: string; path?: string }).filter((l) => l.msg === 'unhandled error');
    assert.deepEqual(errors.map((l) => l.path), ['/auth', '/auth/']);
  });
});
