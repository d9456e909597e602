/**
 * authn `/readyz` asks authz-server with our client token: when the real authz-server refuses the
 * token, authn is not ready (503) and says why in its log; a scoped token request's 503 names the
 * 401 and authz's reason in the audit line.
 */
import assert from 'node:assert/strict';
import http, { type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { join } from 'node:path';
import request from 'supertest';
import { createLogger } from '../../common/logger.js';
import { createApp as createAuthzApp } from '../../authz-server/src/app.js';
import { AuthzStore } from '../../authz-server/src/store/decision-cache.js';
import { SqliteStore } from '../../authz-server/src/store/sqlite/index.js';
import { createAuthzClient } from '../src/authz-client/index.js';
import { basic, makeKeys, MemCredentials, tempDir, testApp } from './helpers.js';

const CLIENT_TOKEN = 'readyz-test-client-token-0123456789abcdef';

describe('readiness checks our client token at authz-server (real authz-server)', () => {
  const tmp = tempDir();
  let store: AuthzStore;
  let server: Server;
  let url = '';
  let keys: Awaited<ReturnType<typeof makeKeys>>;
  before(async () => {
    keys = await makeKeys(tmp.dir);
    store = await AuthzStore.create(SqliteStore.open(join(tmp.dir, 'authz.db')));
    await store.putRole('all', [{ name: '**', actions: ['pull'] }]);
    await store.addBinding({ account_name: 'alice', role_name: 'all' });
    const app = createAuthzApp({ store, logger: createLogger({ name: 'authz', level: 'silent' }), tokens: { admin: 'readyz-test-admin-token-0123456789abcdef', client: CLIENT_TOKEN } });
    server = http.createServer(app).listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    await store.close();
    tmp.cleanup();
  });

  async function authn(token: string) {
    const lines: Array<Record<string, unknown>> = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, cb) {
        lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
        cb();
      },
    });
    const creds = new MemCredentials();
    creds.set('alice', 'pw');
    const authz = createAuthzClient({ url, token, timeoutMs: 2000 });
    const t = testApp({ keys, authzUrl: url, credentials: creds, authz, logger: createLogger({ name: 'authn', level: 'info', destination: sink }) });
    return { ...t, lines };
  }

  it('wrong client token: /readyz 503 with checks.authz_token false, and the cause logged once', async () => {
    const t = await authn('not-the-client-token-0123456789abcdef');
    try {
      const res = await request(t.app).get('/readyz');
      assert.equal(res.status, 503);
      assert.deepEqual(res.body.checks, { keys: true, authz: true, authz_token: false });
      await request(t.app).get('/readyz').expect(503);
      const logged = t.lines.filter((l) => l.msg === 'not ready: authz-server refuses our client token');
      assert.equal(logged.length, 1, 'logged once, not at every probe');
      assert.match(String(logged[0]!.cause), /401 .*invalid client token/);
      assert.ok(!JSON.stringify(t.lines).includes('not-the-client-token'), 'the token itself is never logged');
    } finally {
      t.authzClient.close();
    }
  });

  it('wrong client token: a scoped token request is a 503 whose audit line names the 401 and its reason', async () => {
    const t = await authn('not-the-client-token-0123456789abcdef');
    try {
      const res = await request(t.app).get('/auth?service=registry.test&scope=repository:team-a/app:pull').set('Authorization', basic('alice', 'pw'));
      assert.equal(res.status, 503);
      assert.doesNotMatch(JSON.stringify(res.body), /token|401/, 'the client learns nothing about our credentials');
      const audit = t.lines.find((l) => l.msg === 'token refused')?.audit as Record<string, unknown>;
      assert.match(String(audit.cause), /refused our client token \(401 .*invalid client token/);
    } finally {
      t.authzClient.close();
    }
  });

  it('right client token: ready', async () => {
    const t = await authn(CLIENT_TOKEN);
    try {
      const res = await request(t.app).get('/readyz');
      assert.equal(res.status, 200);
      assert.deepEqual(res.body.checks, { keys: true, authz: true, authz_token: true });
    } finally {
      t.authzClient.close();
    }
  });
});
