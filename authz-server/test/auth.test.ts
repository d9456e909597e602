/** Every route's authentication: 401 without or with a wrong token; the client token only opens /authorized. */
import assert from 'node:assert/strict';
import request from 'supertest';
import { createLogger } from '../../common/logger.js';
import { createApp } from '../src/app.js';
import { ADMIN, CLIENT, harness, req, type Harness, ENGINES } from './helpers.js';

type Method = 'get' | 'post' | 'put' | 'delete';
const ADMIN_ROUTES: Array<[Method, string, unknown?]> = [
  ['post', '/explain', req({})],
  ['post', '/add-role', { name: 'r', permissions: { actions: ['pull'] } }],
  ['post', '/delete-role', { name: 'r' }],
  ['post', '/add-role-binding', { account_name: 'a', role_name: 'r' }],
  ['post', '/delete-role-binding', { account_name: 'a', role_name: 'r' }],
  ['get', '/roles'],
  ['get', '/roles/r'],
  ['put', '/roles/r', { permissions: { actions: ['pull'] } }],
  ['delete', '/roles/r'],
  ['get', '/bindings'],
  ['get', '/accounts/alice/permissions'],
  ['get', '/export'],
  ['post', '/import', { version: 1, roles: [], bindings: [] }],
  ['get', '/metrics'],
];

function send(app: Harness['app'], method: Method, path: string, body?: unknown, token?: string) {
  let t = request(app)[method](path);
  if (token !== undefined) t = t.set('Authorization', `Bearer ${token}`);
  return body === undefined ? t : t.send(body as object);
}

for (const engine of ENGINES) describe(`authentication on every route (${engine})`, () => {
  let h: Harness;
  beforeEach(async () => {
    h = await harness(engine);
    await h.store.putRole('keep', [{ actions: ['pull'] }]);
  });
  afterEach(() => h.close());

  for (const [method, path, body] of ADMIN_ROUTES) {
    it(`${method.toUpperCase()} ${path}: 401 without token, with a wrong token and with the client token; admin token passes`, async () => {
      const before = JSON.stringify(await h.store.listRoles());
      for (const token of [undefined, 'wrong-token', CLIENT]) {
        const res = await send(h.app, method, path, body, token);
        assert.equal(res.status, 401, `${token ?? 'no token'} → ${res.status}`);
        assert.equal(res.body.error.code, 'unauthorized');
        assert.match(res.headers['www-authenticate'] ?? '', /^Bearer/);
      }
      assert.equal(JSON.stringify(await h.store.listRoles()), before, 'rejected requests changed nothing');
      const ok = await send(h.app, method, path, body, ADMIN);
      assert.notEqual(ok.status, 401);
    });
  }

  it('POST /authorized: 401 without/with wrong token; client and admin tokens both accepted', async () => {
    assert.equal((await send(h.app, 'post', '/authorized', req({}))).status, 401);
    assert.equal((await send(h.app, 'post', '/authorized', req({}), 'nope')).status, 401);
    assert.equal((await send(h.app, 'post', '/authorized', req({}), `${CLIENT}x`)).status, 401);
    assert.equal((await send(h.app, 'post', '/authorized', req({}), CLIENT)).status, 403);
    assert.equal((await send(h.app, 'post', '/authorized', req({}), ADMIN)).status, 403);
  });

  it('Basic or malformed Authorization headers are refused', async () => {
    for (const header of [`Basic ${Buffer.from(`x:${ADMIN}`).toString('base64')}`, ADMIN, `Bearer`, `Bearer ${ADMIN} extra`]) {
      const res = await request(h.app).get('/roles').set('Authorization', header);
      assert.equal(res.status, 401, header);
    }
  });

  it('/healthz, /readyz and /openapi.json are open', async () => {
    assert.deepEqual((await request(h.app).get('/healthz')).body, { ok: true });
    assert.deepEqual((await request(h.app).get('/readyz')).body, { ok: true });
    assert.equal((await request(h.app).get('/openapi.json')).status, 200);
  });

  it('--insecure-dev without tokens leaves routes open; configured tokens are still enforced', async () => {
    const logger = createLogger({ name: 't', level: 'silent' });
    const open = createApp({ store: h.store, logger, tokens: { insecureDev: true } });
    assert.equal((await request(open).get('/roles')).status, 200);
    assert.equal((await request(open).post('/authorized').send(req({}))).status, 403);
    const half = createApp({ store: h.store, logger, tokens: { admin: ADMIN, insecureDev: true } });
    assert.equal((await request(half).get('/roles')).status, 401);
    assert.equal((await request(half).post('/authorized').send(req({}))).status, 403);
  });
});
