/** The token endpoint against the REAL authz-server (its createApp on a temp SQLite file, over real HTTP). */
import assert from 'node:assert/strict';
import http, { type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import request from 'supertest';
import { createApp as createAuthzApp } from '../../authz-server/src/app.js';
import { AuthzStore } from '../../authz-server/src/store/decision-cache.js';
import { SqliteStore } from '../../authz-server/src/store/sqlite/index.js';
import type { KeySet } from '../src/keys/load.js';
import { basic, CLIENT_TOKEN, logger, makeKeys, MemCredentials, tempDir, testApp, verifyIndependently, type TestApp } from './helpers.js';

describe('token endpoint against the real authz-server', () => {
  let tmp: ReturnType<typeof tempDir>;
  let keys: KeySet;
  let store: AuthzStore;
  let server: Server;
  let t: TestApp;
  const S = 'registry.test';

  before(async () => {
    tmp = tempDir();
    keys = await makeKeys(tmp.dir);
    store = await AuthzStore.create(SqliteStore.open(join(tmp.dir, 'authz.db')));
    await store.putRole('developer', [{ name: '${namespace}/*', actions: ['pull', 'push'] }]);
    await store.putRole('reader', [{ name: '${namespace}/*', actions: ['pull'] }]);
    await store.putRole('labelled', [{ name: 'labs/*', actions: ['pull'], labels: { team: 'labs' } }]);
    await store.addBinding({ account_name: 'alice', role_name: 'developer', namespace: 'team-a' });
    await store.addBinding({ account_name: 'alice', role_name: 'reader', namespace: 'shared' });
    await store.addBinding({ account_name: 'alice', role_name: 'labelled' });
    await store.addBinding({ account_name: '<anonymous>', role_name: 'reader', namespace: 'public' });
    const app = createAuthzApp({ store, logger, tokens: { admin: 'authz-admin-token-for-tests', client: CLIENT_TOKEN } });
    server = http.createServer(app).listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    const creds = new MemCredentials();
    creds.set('alice', 'pw', { team: ['labs'] });
    creds.set('bob', 'pw');
    t = testApp({ keys, authzUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, credentials: creds, anonymous: true });
  });
  after(async () => {
    t.authzClient.close();
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    await store.close();
    tmp.cleanup();
  });

  const access = (token: string) => verifyIndependently(token, keys.signing.publicKey).claims.access;

  it('grants what the bindings allow, partially where partial, nothing where nothing', async () => {
    const scope = encodeURIComponent('repository:team-a/app:pull,push repository:shared/base:pull,push repository:secret/x:pull repository:labs/tool:pull');
    const res = await request(t.app).get(`/auth?account=alice&scope=${scope}&service=${S}`).set('Authorization', basic('alice', 'pw')).expect(200);
    assert.deepEqual(access(res.body.token), [
      { type: 'repository', name: 'team-a/app', actions: ['pull', 'push'] },
      { type: 'repository', name: 'shared/base', actions: ['pull'] },
      { type: 'repository', name: 'labs/tool', actions: ['pull'] },
    ]);
  });

  it('an account without bindings gets a token with empty access (200, not 403)', async () => {
    const res = await request(t.app).get(`/auth?scope=repository:team-a/app:pull&service=${S}`).set('Authorization', basic('bob', 'pw')).expect(200);
    assert.deepEqual(access(res.body.token), []);
  });

  it('anonymous requests get what the <anonymous> binding allows', async () => {
    const res = await request(t.app).get(`/auth?scope=${encodeURIComponent('repository:public/img:pull,push repository:team-a/app:pull')}&service=${S}`).expect(200);
    assert.deepEqual(access(res.body.token), [{ type: 'repository', name: 'public/img', actions: ['pull'] }]);
  });

  it('removing a binding takes effect on the next refresh', async () => {
    const login = await request(t.app).get(`/auth?offline_token=true&service=${S}`).set('Authorization', basic('alice', 'pw')).expect(200);
    const refresh = () => request(t.app).post('/auth').type('form').send({ grant_type: 'refresh_token', refresh_token: login.body.refresh_token, scope: 'repository:team-a/app:push', service: S }).expect(200);
    assert.deepEqual(access((await refresh()).body.access_token), [{ type: 'repository', name: 'team-a/app', actions: ['push'] }]);
    store.deleteBinding({ account_name: 'alice', role_name: 'developer', namespace: 'team-a' });
    try {
      assert.deepEqual(access((await refresh()).body.access_token), []);
    } finally {
      store.addBinding({ account_name: 'alice', role_name: 'developer', namespace: 'team-a' });
    }
  });
});
