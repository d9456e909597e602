/**
 * A rolling restart of three authz replicas (PostgreSQL-backed) behind one address while authn
 * answers token requests in a loop: authn's clients never see a 503. The address is a small TCP proxy
 * (round robin, skipping a replica that refuses), which is what a Service does; authn is the real app
 * with its real authz client (keep-alive, one retry on a refused or reset connection).
 */
import assert from 'node:assert/strict';
import axios from 'axios';
import request from 'supertest';
import { createAuthzClient } from '../../authn-server/src/authz-client/index.js';
import { basic, CLIENT_TOKEN, makeKeys, MemCredentials, testApp, verifyIndependently } from '../../authn-server/test/helpers.js';
import { ADMIN, spawnServer, tempDir, type ServerProcess } from './helpers.js';
import { PgServer } from './pg-server.js';
import { tcpProxy } from './tcp-proxy.js';

const portOf = (url: string): number => Number(new URL(url).port);

describe('rolling restart of three PostgreSQL-backed authz replicas behind one address', function () {
  this.timeout(240_000);
  let pgs: PgServer;
  let t: ReturnType<typeof tempDir>;
  const all: ServerProcess[] = [];
  before(async () => {
    t = tempDir();
    pgs = await PgServer.create();
  });
  after(async () => {
    for (const s of all) await s.stop('SIGKILL');
    await pgs?.destroy();
    t.cleanup();
  });

  it('authn serves token requests throughout: zero 503s, every token grants what the binding allows', async () => {
    const { url } = await pgs.createDatabase('rolling');
    const env = { TOLLGATE_AUTHZ_ADMIN_TOKEN: ADMIN, TOLLGATE_AUTHZ_CLIENT_TOKEN: CLIENT_TOKEN, TOLLGATE_LOG_LEVEL: 'warn' };
    const start = async () => {
      const s = await spawnServer(['--db', url], env);
      all.push(s);
      return s;
    };
    const replicas = await Promise.all([start(), start(), start()]);
    const proxy = await tcpProxy(replicas.map((r) => portOf(r.url)));
    const adminH = { headers: { Authorization: `Bearer ${ADMIN}` } };
    const front = `http://127.0.0.1:${proxy.port}`;
    await axios.post(`${front}/add-role`, { name: 'dev', permissions: { name: 'team-a/**', actions: ['pull', 'push'] } }, adminH);
    await axios.post(`${front}/add-role-binding`, { account_name: 'alice', role_name: 'dev' }, adminH);

    const keys = await makeKeys(t.dir);
    const creds = new MemCredentials();
    creds.set('alice', 'pw');
    const client = createAuthzClient({ url: front, token: CLIENT_TOKEN, timeoutMs: 5000 });
    const authz = { ...client, authorize: (b: Parameters<typeof client.authorize>[0]) => client.authorize(b).catch((e: Error) => (failures.push(e.message), Promise.reject(e))) };
    const authn = testApp({ keys, authzUrl: front, credentials: creds, authz });
    const statuses = new Map<number, number>();
    let wrongAccess = 0;
    const failures: string[] = [];
    let running = true;
    const loop = async () => {
      while (running) {
        const res = await request(authn.app).get('/auth?scope=repository:team-a/app:pull&service=registry.test').set('Authorization', basic('alice', 'pw'));
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        if (res.status !== 200) failures.push(JSON.stringify(res.body));
        if (res.status === 200) {
          const access = verifyIndependently(res.body.token as string, keys.signing.publicKey).claims.access;
          if (JSON.stringify(access) !== JSON.stringify([{ type: 'repository', name: 'team-a/app', actions: ['pull'] }])) wrongAccess++;
        }
      }
    };
    const loops = Promise.all([loop(), loop(), loop(), loop()]);
    try {
      for (let i = 0; i < replicas.length; i++) {
        const old = replicas[i] as ServerProcess;
        // SIGTERM while still behind the address (as a pod leaves endpoints only eventually), then the
        // replacement joins once /readyz says so (maxUnavailable 0 would start it first; this is harsher).
        assert.equal(await old.stop('SIGTERM'), 0);
        proxy.upstreams.splice(proxy.upstreams.indexOf(portOf(old.url)), 1);
        const fresh = await start();
        assert.equal((await axios.get(`${fresh.url}/readyz`)).status, 200);
        proxy.upstreams.push(portOf(fresh.url));
        replicas[i] = fresh;
      }
      await new Promise((r) => setTimeout(r, 500));
    } finally {
      running = false;
      await loops;
      authn.authzClient.close();
      await proxy.close();
    }
    const seen = Object.fromEntries(statuses);
    assert.equal(statuses.get(503) ?? 0, 0, `statuses: ${JSON.stringify(seen)} ${failures.join(' ')}`);
    assert.deepEqual(Object.keys(seen), ['200'], `statuses: ${JSON.stringify(seen)}`);
    assert.ok((statuses.get(200) ?? 0) > 50, `token requests served: ${JSON.stringify(seen)}`);
    assert.equal(wrongAccess, 0);
  });
});
