/**
 * authn caching by authz's change feed: the real authz-server app (SQLite) on a real port, authn's
 * feed and decision cache in front of it. Timing bounds are loose here (the benchmark measures them).
 * Bad feed messages come from a stand-in feed server speaking the same server-sent-events format
 * (authz never sends them): those tests are SIMULATED.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import request from 'supertest';
import { createLogger } from '../../common/logger.js';
import { createApp as createAuthzApp } from '../../authz-server/src/app.js';
import { AuthzStore } from '../../authz-server/src/store/decision-cache.js';
import { SqliteStore } from '../../authz-server/src/store/sqlite/index.js';
import { PostgresStore } from '../../authz-server/src/store/postgres/index.js';
import { sharedPg } from '../../authz-server/test/pg-server.js';
import { tcpProxy, type Proxy } from '../../authz-server/test/tcp-proxy.js';
import { withDecisionCache } from '../src/authz-client/cache.js';
import { ChangeFeed } from '../src/authz-client/feed.js';
import type { AuthzClient } from '../src/authz-client/index.js';
import type { KeySet } from '../src/keys/load.js';
import { createMetrics } from '../src/metrics/index.js';
import { basic, CLIENT_TOKEN, decodeJwt, makeKeys, MemCredentials, tempDir, testApp, waitFor, type TestApp } from './helpers.js';

const ADMIN = 'change-feed-test-admin-token-0123456789';
const S = 'registry.test';
const alice = basic('alice', 'pw');
const pullUrl = `/auth?service=${S}&scope=repository:team-a/app:pull`;
const access = (res: { body: { token: string } }) => decodeJwt(res.body.token).claims.access as unknown[];

function logSink(): { logger: ReturnType<typeof createLogger>; lines: string[] } {
  const lines: string[] = [];
  const logger = createLogger({ name: 'feed-test', level: 'info', destination: new Writable({ write: (c: Buffer, _e, cb) => (lines.push(c.toString()), cb()) }) });
  return { logger, lines };
}

async function listenOn(app: Parameters<typeof createServer>[1], port = 0): Promise<Server> {
  const server = createServer(app).listen(port, '127.0.0.1');
  await new Promise((r, j) => (server.once('listening', r), server.once('error', j)));
  return server;
}

async function closeServer(s: Server): Promise<void> {
  s.closeAllConnections();
  await new Promise((r) => s.close(r));
}

describe('authn caches by the change feed (real authz-server app)', () => {
  let tmp: ReturnType<typeof tempDir>;
  let keys: KeySet;
  let store: AuthzStore;
  let dbFile: string;
  let authzServer: Server;
  let port: number;
  let proxy: Proxy;
  let feed: ChangeFeed;
  let t: TestApp;
  let metrics: ReturnType<typeof createMetrics>;
  let log: ReturnType<typeof logSink>;

  const authzApp = (s: AuthzStore) => createAuthzApp({ store: s, logger: createLogger({ name: 'authz', level: 'silent' }), tokens: { admin: ADMIN, client: CLIENT_TOKEN } });
  const adminCall = (path: string, body: object) => request(`http://127.0.0.1:${port}`).post(path).set('Authorization', `Bearer ${ADMIN}`).send(body);
  const hits = async () => Number(/tollgate_authn_cache_lookups_total\{cache="decision",result="hit"\} (\d+)/.exec(await metrics.registry.metrics())?.[1] ?? 0);

  before(async () => {
    tmp = tempDir();
    keys = await makeKeys(tmp.dir);
  });
  after(() => tmp.cleanup());

  beforeEach(async () => {
    dbFile = join(tmp.dir, `authz-${Date.now()}-${Math.random()}.db`);
    store = await AuthzStore.create(SqliteStore.open(dbFile));
    await store.putRole('reader', [{ name: 'team-a/**', actions: ['pull'] }]);
    await store.addBinding({ account_name: 'alice', role_name: 'reader' });
    authzServer = await listenOn(authzApp(store));
    port = (authzServer.address() as AddressInfo).port;
    // authn reaches authz through a proxy, so the network between them can be blocked.
    proxy = await tcpProxy([port]);
    log = logSink();
    metrics = createMetrics(false);
    feed = new ChangeFeed({ url: `http://127.0.0.1:${proxy.port}`, token: CLIENT_TOKEN, logger: log.logger, onReset: (reason) => metrics.feedResets.inc({ reason }) });
    feed.start();
    await waitFor(() => feed.trusted());
    const creds = new MemCredentials();
    creds.set('alice', 'pw');
    t = testApp({ keys, authzUrl: `http://127.0.0.1:${proxy.port}`, credentials: creds, feed, metrics, timeoutMs: 500 });
  });
  afterEach(async () => {
    feed.stop();
    t.authzClient.close();
    await proxy.close();
    await closeServer(authzServer).catch(() => undefined);
    await store.close();
  });

  it('caches by default: a repeat is answered from the cache', async () => {
    await request(t.app).get(pullUrl).set('Authorization', alice).expect(200);
    await request(t.app).get(pullUrl).set('Authorization', alice).expect(200);
    assert.equal(await hits(), 1);
  });

  it('revocation: a removed binding is refused within ~1 s of the admin call returning', async () => {
    assert.equal(access(await request(t.app).get(pullUrl).set('Authorization', alice).expect(200)).length, 1);
    assert.equal(access(await request(t.app).get(pullUrl).set('Authorization', alice).expect(200)).length, 1);
    await adminCall('/delete-role-binding', { account_name: 'alice', role_name: 'reader' }).expect(200);
    const start = Date.now();
    await waitFor(async () => access(await request(t.app).get(pullUrl).set('Authorization', alice).expect(200)).length === 0, 3000);
    assert.ok(Date.now() - start < 1500, `refused after ${Date.now() - start} ms`);
  });

  it('feed blocked (network to authz frozen): no grant from the cache 1 s after the last message; recovers without a restart', async () => {
    await request(t.app).get(pullUrl).set('Authorization', alice).expect(200);
    proxy.freeze();
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal(feed.trusted(), false, 'no message for 1 s: the cache is not trusted');
    // Caches untrusted: authz is asked, and it cannot be reached → 503, never the cached grant.
    await request(t.app).get(pullUrl).set('Authorization', alice).expect(503);
    proxy.thaw();
    await waitFor(() => feed.trusted(), 8000);
    const before = await hits();
    await request(t.app).get(pullUrl).set('Authorization', alice).expect(200);
    await request(t.app).get(pullUrl).set('Authorization', alice).expect(200);
    assert.equal((await hits()) - before, 1, 'caching again once the feed is back');
  });

  it('authz killed: caches dropped at once, 503 (never a cached grant); a restarted authz is followed again', async () => {
    await request(t.app).get(pullUrl).set('Authorization', alice).expect(200);
    await closeServer(authzServer);
    await waitFor(() => !feed.trusted(), 1000);
    await request(t.app).get(pullUrl).set('Authorization', alice).expect(503);
    authzServer = await listenOn(authzApp(store), port);
    await waitFor(() => feed.trusted(), 8000);
    await request(t.app).get(pullUrl).set('Authorization', alice).expect(200);
  });

  it('a reset from authz (since ahead of a restored database) drops everything, logged with the reason', async () => {
    await request(t.app).get(pullUrl).set('Authorization', alice).expect(200);
    await adminCall('/add-role', { name: 'other', permissions: [{ name: 'x/**', actions: ['pull'] }] }).expect(201);
    await waitFor(() => feed.rev >= 3);
    // The same database restored from an older copy: same id, lower revision.
    const restored = await AuthzStore.create(SqliteStore.open(join(tmp.dir, `restored-${Math.random()}.db`)));
    const id = (await store.engine.feedInfo()).database_id;
    (restored.engine as SqliteStore).db.prepare('UPDATE feed_meta SET database_id = ?').run(id);
    await restored.putRole('reader', [{ name: 'team-a/**', actions: ['pull'] }]);
    await closeServer(authzServer);
    authzServer = await listenOn(authzApp(restored), port);
    try {
      await waitFor(() => log.lines.some((l) => l.includes('authz reset the feed')), 8000);
      assert.match(await metrics.registry.metrics(), /tollgate_authn_change_feed_resets_total\{reason="reset"\} 1/);
      await waitFor(() => feed.trusted(), 8000);
      assert.equal(access(await request(t.app).get(pullUrl).set('Authorization', alice).expect(200)).length, 0, 'the restored database has no binding: nothing cached from before answers');
    } finally {
      await closeServer(authzServer);
      await restored.close();
      authzServer = await listenOn(authzApp(store), 0);
    }
  });
});

describe('authn following one of two PostgreSQL replicas', () => {
  it('a binding removed through replica A is refused by authn following replica B within ~1 s; a reconnect to A with since misses nothing', async () => {
    const tmp = tempDir();
    const keys = await makeKeys(tmp.dir);
    const url = (await (await sharedPg()).createDatabase()).url;
    const stores = [await AuthzStore.create(await PostgresStore.open({ url })), await AuthzStore.create(await PostgresStore.open({ url }))];
    const servers = await Promise.all(stores.map((s) => listenOn(createAuthzApp({ store: s, logger: createLogger({ name: 'authz', level: 'silent' }), tokens: { admin: ADMIN, client: CLIENT_TOKEN } }))));
    const [aUrl, bUrl] = servers.map((s) => `http://127.0.0.1:${(s.address() as AddressInfo).port}`) as [string, string];
    const feed = new ChangeFeed({ url: bUrl, token: CLIENT_TOKEN, logger: createLogger({ name: 'feed', level: 'silent' }) });
    const creds = new MemCredentials();
    creds.set('alice', 'pw');
    const t = testApp({ keys, authzUrl: bUrl, credentials: creds, feed });
    const onA = (method: 'post' | 'delete', path: string, body?: object) => request(aUrl)[method](path).set('Authorization', `Bearer ${ADMIN}`).send(body);
    try {
      feed.start();
      await waitFor(() => feed.trusted());
      await onA('post', '/add-role', { name: 'reader', permissions: [{ name: 'team-a/**', actions: ['pull'] }] }).expect(201);
      await onA('post', '/add-role-binding', { account_name: 'alice', role_name: 'reader' }).expect(201);
      await waitFor(async () => access(await request(t.app).get(pullUrl).set('Authorization', alice).expect(200)).length === 1);
      await request(t.app).get(pullUrl).set('Authorization', alice).expect(200); // cached
      await onA('post', '/delete-role-binding', { account_name: 'alice', role_name: 'reader' }).expect(200);
      const start = Date.now();
      await waitFor(async () => access(await request(t.app).get(pullUrl).set('Authorization', alice).expect(200)).length === 0, 3000);
      assert.ok(Date.now() - start < 1500, `binding: refused after ${Date.now() - start} ms`);
      // The feed moves to replica A with since: the same revisions, nothing missed, no reset.
      const rev = feed.rev;
      await closeServer(servers[1]!);
      const moved = new ChangeFeed({ url: aUrl, token: CLIENT_TOKEN, logger: createLogger({ name: 'feed', level: 'silent' }) });
      Object.assign(moved, { rev: rev - 1, databaseId: feed.databaseId });
      const seen: Array<number | null> = [];
      moved.subscribe((c) => seen.push(c ? c.rev : null));
      moved.start();
      try {
        await waitFor(() => moved.trusted());
        assert.deepEqual(seen, [rev], 'replayed exactly the last change, no reset');
      } finally {
        moved.stop();
      }
    } finally {
      feed.stop();
      t.authzClient.close();
      for (const s of servers) await closeServer(s).catch(() => undefined);
      for (const s of stores) await s.close();
      tmp.cleanup();
    }
  });
});

describe('authn against bad change-feed messages (SIMULATED feed server)', () => {
  let server: Server;
  let url: string;
  let script: (write: (s: string) => void) => void;
  const hello = (rev: number, id = 'aaaa') => `event: hello\ndata: {"database_id":"${id}","rev":${rev},"heartbeat_ms":100}\n\n`;
  const beat = (rev: number) => `event: beat\ndata: {"rev":${rev}}\n\n`;

  before(async () => {
    server = await listenOn((req, res) => {
      if (!req.url?.startsWith('/changes')) return void res.writeHead(404).end();
      res.writeHead(200, { 'Content-Type': 'text/event-stream' });
      script((s) => res.write(s));
    });
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => closeServer(server));

  const cases: Array<[string, string, RegExp]> = [
    ['a message that is not JSON', 'event: change\ndata: {nope\n\n', /not a JSON object/],
    ['an unknown event', 'event: surprise\ndata: {}\n\n', /unknown change feed event/],
    ['a change out of order', 'event: change\ndata: {"rev":4,"kind":"binding","subject":"a"}\n\nevent: change\ndata: {"rev":4,"kind":"binding","subject":"a"}\n\n', /out of order/],
    ['a heartbeat whose revision went backwards', beat(2), /heartbeat at rev 2 while at 3/],
    ['a change of an unknown kind', 'event: change\ndata: {"rev":9,"kind":"weather"}\n\n', /malformed change feed message \(change\)/],
  ];
  for (const [what, bad, reason] of cases) {
    it(`${what}: caches dropped, logged once with the reason, authz asked directly (SIMULATED)`, async () => {
      const log = logSink();
      let sendBad: () => void = () => undefined;
      script = (write) => {
        write(hello(3));
        const timer = setInterval(() => write(beat(3)), 100);
        sendBad = () => (clearInterval(timer), write(bad));
      };
      const feed = new ChangeFeed({ url, token: CLIENT_TOKEN, logger: log.logger });
      let asked = 0;
      const inner: AuthzClient = { authorize: async (r) => (asked++, { allowed: true, actions: r.Actions }), call: async () => ({}), ping: async () => true, close: () => undefined };
      const cache = withDecisionCache(inner, { ttlMs: 60_000, feed });
      const req = { Account: 'a', Type: 'repository', Name: 'x/y', Service: 's', IP: '127.0.0.1', Actions: ['pull'], Labels: null };
      feed.start();
      try {
        await waitFor(() => feed.trusted());
        await cache.authorize(req);
        await cache.authorize(req);
        assert.equal(asked, 1, 'cached while the feed is good');
        sendBad();
        await waitFor(() => log.lines.some((l) => reason.test(l)));
        assert.equal(cache.size(), 0, 'caches dropped');
        await cache.authorize(req);
        assert.equal(asked, 2, 'asked authz directly');
        await new Promise((r) => setTimeout(r, 800)); // reconnects, gets the same bad message again
        assert.equal(log.lines.filter((l) => reason.test(l)).length, 1, 'logged once');
      } finally {
        feed.stop();
      }
    });
  }

  it('another database on reconnect: everything dropped, logged (SIMULATED)', async () => {
    const log = logSink();
    let id = 'aaaa';
    script = (write) => {
      write(hello(5, id));
      const timer = setInterval(() => write(beat(5)), 100);
      setTimeout(() => clearInterval(timer), 300);
    };
    const feed = new ChangeFeed({ url, token: CLIENT_TOKEN, logger: log.logger });
    feed.start();
    try {
      await waitFor(() => feed.trusted());
      id = 'bbbb';
      await waitFor(() => log.lines.some((l) => l.includes('another database')), 5000);
      assert.equal(feed.databaseId, 'bbbb');
    } finally {
      feed.stop();
    }
  });

  it('bounded memory: 100k distinct accounts keep the decision cache within its entry and byte bounds (SIMULATED feed)', async () => {
    script = (write) => {
      write(hello(1));
      const timer = setInterval(() => write(beat(1)), 100);
      setTimeout(() => clearInterval(timer), 20_000);
    };
    const feed = new ChangeFeed({ url, token: CLIENT_TOKEN, logger: logSink().logger });
    const inner: AuthzClient = { authorize: async (r) => ({ allowed: true, actions: r.Actions }), call: async () => ({}), ping: async () => true, close: () => undefined };
    const cache = withDecisionCache(inner, { ttlMs: 60_000, feed, maxEntries: 50_000, maxBytes: 8 * 1024 * 1024 });
    feed.start();
    try {
      await waitFor(() => feed.trusted());
      global.gc?.();
      const heapBefore = process.memoryUsage().heapUsed;
      for (let i = 0; i < 100_000; i++) {
        await cache.authorize({ Account: `account-${i}-${'x'.repeat(40)}`, Type: 'repository', Name: `team-${i % 50}/app`, Service: 's', IP: '10.0.0.1', Actions: ['pull', 'push'], Labels: null });
        if (i % 5000 === 0) await new Promise((r) => setImmediate(r)); // let heartbeats in
      }
      assert.ok(cache.size() <= 50_000, `entries ${cache.size()}`);
      assert.ok(cache.bytes() <= 8 * 1024 * 1024, `bytes ${cache.bytes()}`);
      assert.ok(cache.size() > 1000, 'the cache was in use');
      const grown = process.memoryUsage().heapUsed - heapBefore;
      assert.ok(grown < 64 * 1024 * 1024, `heap grew ${(grown / 1048576).toFixed(1)} MiB`);
    } finally {
      feed.stop();
    }
  });
});
