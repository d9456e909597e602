/**
 * GET /changes, the change feed authn caches by: a revision per committed change, replay with `since`,
 * explicit resets, heartbeats; on PostgreSQL the same revisions from every replica, and a NOTIFY flood
 * that costs reads, never a 503. Also the synchronous decision path.
 */
import assert from 'node:assert/strict';
import http, { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import pg from 'pg';
import { createLogger } from '../../common/logger.js';
import { createApp } from '../src/app.js';
import { AuthzStore } from '../src/store/decision-cache.js';
import { PostgresStore } from '../src/store/postgres/index.js';
import { SqliteStore } from '../src/store/sqlite/index.js';
import { sharedPg } from './pg-server.js';
import { ADMIN, admin, CLIENT, client, ENGINES, harness, req, type Harness } from './helpers.js';

type Ev = { event: string; data: Record<string, unknown> };

/** Opens the feed on a real port and collects events until `done` holds (or `ms` pass). */
async function readFeed(base: string, query: string, done: (evs: Ev[]) => boolean, ms = 3000): Promise<Ev[]> {
  return new Promise((resolve, reject) => {
    const evs: Ev[] = [];
    const r = http.get(`${base}/changes${query}`, { headers: { Authorization: `Bearer ${CLIENT}` } }, (res) => {
      if (res.statusCode !== 200) return reject(new Error(`status ${res.statusCode}`));
      res.setEncoding('utf8');
      let buf = '';
      res.on('data', (c: string) => {
        buf += c;
        let i: number;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const event = /^event: (.*)$/m.exec(block)?.[1] ?? '';
          evs.push({ event, data: JSON.parse(/^data: (.*)$/m.exec(block)?.[1] ?? '{}') as Record<string, unknown> });
        }
        if (done(evs)) (clearTimeout(timer), r.destroy(), resolve(evs));
      });
    });
    r.on('error', () => undefined);
    const timer = setTimeout(() => (r.destroy(), resolve(evs)), ms);
  });
}

async function serve(app: http.RequestListener): Promise<{ server: Server; base: string }> {
  const server = createServer(app).listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  return { server, base: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

const stop = async (s: Server) => (s.closeAllConnections(), await new Promise((r) => s.close(r)));
const changes = (evs: Ev[]) => evs.filter((e) => e.event === 'change').map((e) => [e.data.rev, e.data.kind, e.data.subject]);

for (const engine of ENGINES) {
  describe(`change feed (${engine})`, () => {
    let h: Harness;
    let server: Server;
    let base: string;
    beforeEach(async () => {
      h = await harness(engine);
      ({ server, base } = await serve(h.app));
    });
    afterEach(async () => {
      await stop(server);
      await h.close();
    });

    it('every committed change gets the next revision: roles, bindings, robots (create, rotate, delete), imports', async () => {
      await request(h.app).post('/add-role').set(admin).send({ name: 'reader', permissions: [{ name: '**', actions: ['pull'] }] }).expect(201);
      await request(h.app).post('/add-role-binding').set(admin).send({ account_name: 'alice', role_name: 'reader' }).expect(201);
      await request(h.app).post('/add-role-binding').set(admin).send({ account_name: 'alice', role_name: 'reader' }).expect(200); // no change: no revision
      await request(h.app).post('/delete-role-binding').set(admin).send({ account_name: 'alice', role_name: 'reader' }).expect(200);
      const robot = (await request(h.app).post('/robots').set(admin).send({ namespace: 'team-a', name: 'ci', actions: ['pull'] }).expect(201)).body as { account: string };
      await request(h.app).post(`/robots/${robot.account}/rotate`).set(admin).send({ overlap: 0 }).expect(200);
      await request(h.app).delete(`/robots/${robot.account}`).set(admin).expect(200);
      await request(h.app).post('/add-role-binding').set(admin).send({ account_name: 'nobody', role_name: 'ghost' }).expect(404); // refused: no revision
      const file = (await request(h.app).get('/export').set(admin).expect(200)).body;
      await request(h.app).post('/import').set(admin).send(file).expect(200);
      const evs = await readFeed(base, '?since=0', (e) => e.some((x) => x.event === 'beat'));
      assert.deepEqual(evs[0]?.event, 'hello');
      const seen = changes(evs);
      assert.deepEqual(seen.map(([, kind, subject]) => [kind, subject]), [
        // An import (roles, bindings and robots in one transaction) is one revision.
        ['role', 'reader'], ['binding', 'alice'], ['binding', 'alice'], ['robot', 'robot:team-a+ci'], ['robot', 'robot:team-a+ci'], ['robot', 'robot:team-a+ci'], ['import', null],
      ]);
      const revs = seen.map(([rev]) => rev as number);
      assert.deepEqual(revs, [...revs].sort((a, b) => a - b));
      assert.equal(new Set(revs).size, revs.length, 'strictly increasing');
      assert.equal(evs.find((e) => e.event === 'beat')?.data.rev, revs[revs.length - 1]);
    });

    it('since=REV replays exactly what came after; new changes stream; heartbeats at least every 250 ms', async () => {
      await h.store.putRole('a', [{ actions: ['pull'] }]);
      await h.store.putRole('b', [{ actions: ['pull'] }]);
      const head = (await h.store.engine.feedInfo()).head;
      setTimeout(() => void h.store.putRole('c', [{ actions: ['pull'] }]), 300);
      const t0 = Date.now();
      const evs = await readFeed(base, `?since=${head - 1}`, (e) => changes(e).length >= 2 && Date.now() - t0 > 800);
      assert.deepEqual(changes(evs).map(([, , s]) => s), ['b', 'c']);
      const beats = evs.filter((e) => e.event === 'beat').length;
      assert.ok(beats >= 3, `${beats} heartbeats in ~1 s`);
    });

    it('reset: since ahead of the database, or another database id; 400 for a malformed since or database; 401 without the token', async () => {
      const info = await h.store.engine.feedInfo();
      const ahead = await readFeed(base, `?since=${info.head + 5}`, (e) => e.some((x) => x.event === 'reset'));
      assert.match(String(ahead.find((e) => e.event === 'reset')?.data.reason), /ahead of this database/);
      const other = await readFeed(base, '?since=0&database=0123abcd', (e) => e.some((x) => x.event === 'reset'));
      assert.deepEqual(other.find((e) => e.event === 'reset')?.data, { database_id: info.database_id, rev: info.head, reason: 'another database' });
      const bad = await request(h.app).get('/changes?since=-1').set(client).expect(400);
      assert.equal(bad.body.error.field, 'since');
      assert.equal((await request(h.app).get('/changes?database=NOT-HEX').set(client).expect(400)).body.error.field, 'database');
      await request(h.app).get('/changes').expect(401);
    });

    it('the engine hints the tail when a change commits, whoever wrote it (not a route); a refused or empty write does not', async () => {
      let hints = 0;
      h.store.engine.subscribe((e) => void (e.kind === 'hint' && hints++));
      // Straight on the engine, as the CLI's import, the console or a future route would: no HTTP middleware involved.
      // The hint is there by the time the write resolves (not at the next poll; on PostgreSQL not only at the NOTIFY's echo).
      let before = hints;
      await h.store.engine.putRole('direct', [{ name: '**', actions: ['pull'] }], new Date().toISOString());
      assert.ok(hints > before, 'role written: hinted');
      before = hints;
      await h.store.engine.addBinding({ account_name: 'alice', role_name: 'direct', namespace: null, is_pattern: false });
      assert.ok(hints > before, 'binding written: hinted');
      if (engine === 'sqlite') {
        // (PostgreSQL's NOTIFY echoes of the writes above may still arrive: the exact count is SQLite's.)
        before = hints;
        await h.store.engine.robots.delete('robot:team-a+none');
        await assert.rejects(h.store.engine.addBinding({ account_name: 'bob', role_name: 'ghost', namespace: null, is_pattern: false }));
        await h.store.engine.addBinding({ account_name: 'alice', role_name: 'direct', namespace: null, is_pattern: false });
        assert.equal(hints, before, 'nothing committed to the log: no hint');
      }
      // The tail that hint woke delivers both revisions to the feed.
      const evs = await readFeed(base, '?since=0', (e) => changes(e).length >= 2);
      assert.deepEqual(changes(evs).map(([, k, s]) => [k, s]), [['role', 'direct'], ['binding', 'alice']]);
    });

    it('reset: a since older than the revisions kept', async () => {
      await h.sql("UPDATE feed_meta SET trimmed_through = 50");
      const evs = await readFeed(base, '?since=10', (e) => e.some((x) => x.event === 'reset'));
      assert.match(String(evs.find((e) => e.event === 'reset')?.data.reason), /older than the oldest revision kept/);
    });
  });
}

describe('change feed across two PostgreSQL replicas', () => {
  const apps: Array<{ store: AuthzStore; server: Server; base: string }> = [];
  let url: string;
  beforeEach(async () => {
    url = (await (await sharedPg()).createDatabase()).url;
    for (let i = 0; i < 2; i++) {
      const store = await AuthzStore.create(await PostgresStore.open({ url }));
      apps.push({ store, ...(await serve(createApp({ store, logger: createLogger({ name: 't', level: 'silent' }), tokens: { admin: ADMIN, client: CLIENT } }))) });
    }
  });
  afterEach(async () => {
    for (const a of apps.splice(0)) (await stop(a.server), await a.store.close());
  });

  it('both replicas serve the same revisions; a client reconnecting to the other one with since misses nothing', async () => {
    const [a, b] = [apps[0]!, apps[1]!];
    await a.store.putRole('reader', [{ name: '**', actions: ['pull'] }]);
    const onA = await readFeed(a.base, '?since=0', (e) => e.some((x) => x.event === 'beat'));
    const last = changes(onA).at(-1)![0] as number;
    // Writes on both replicas while the client is away, then it reconnects to B.
    await Promise.all([
      ...Array.from({ length: 10 }, (_, i) => a.store.addBinding({ account_name: `a${i}`, role_name: 'reader' })),
      ...Array.from({ length: 10 }, (_, i) => b.store.addBinding({ account_name: `b${i}`, role_name: 'reader' })),
    ]);
    const onB = await readFeed(b.base, `?since=${last}&database=${onA[0]!.data.database_id as string}`, (e) => changes(e).length >= 20);
    assert.equal(onB.some((e) => e.event === 'reset'), false);
    assert.deepEqual(changes(onB).map(([, , s]) => s).sort(), [...Array.from({ length: 10 }, (_, i) => `a${i}`), ...Array.from({ length: 10 }, (_, i) => `b${i}`)].sort());
    const fromA = await readFeed(a.base, `?since=${last}`, (e) => changes(e).length >= 20);
    assert.deepEqual(changes(fromA), changes(onB), 'same revisions, same order, on both replicas');
  });

  it('a NOTIFY flood from any role that can connect costs reads, never a 503; real changes still arrive', async () => {
    const [a, b] = [apps[0]!, apps[1]!];
    await a.store.putRole('reader', [{ name: '**', actions: ['pull'] }]);
    await a.store.addBinding({ account_name: 'alice', role_name: 'reader' });
    const flood = new pg.Client({ connectionString: url });
    await flood.connect();
    let flooding = true;
    const sent = (async () => {
      let n = 0;
      while (flooding) (await flood.query("SELECT pg_notify('tollgate_authz', $1)", [n % 2 ? '{"k":"*"}' : 'garbage'])), n++;
      return n;
    })();
    try {
      let failed = 0;
      for (let i = 0; i < 300; i++) {
        const res = await request(b.server).post('/authorized').set(client).send(req({ Account: 'alice' }));
        if (res.status !== 200) failed++;
      }
      await a.store.deleteBinding({ account_name: 'alice', role_name: 'reader' });
      const t0 = Date.now();
      while ((await request(b.server).post('/authorized').set(client).send(req({ Account: 'alice' }))).status !== 403) {
        assert.ok(Date.now() - t0 < 2000, 'the real change arrived during the flood');
      }
      flooding = false;
      assert.ok((await sent) > 50, 'the flood ran');
      assert.equal(failed, 0, 'no decision failed during the flood');
    } finally {
      flooding = false;
      await flood.end();
    }
  });
});

describe('change feed when the database cannot be read', () => {
  it('heartbeats stop while the change log cannot be read: a heartbeat always means "nothing missed as of a moment ago"', async () => {
    const h = await harness('sqlite');
    const { server, base } = await serve(h.app);
    try {
      const beatsIn = (evs: Ev[], from: number) => evs.filter((e, i) => i >= from && e.event === 'beat').length;
      let mark = 0;
      const evs = await readFeed(base, '', (e) => {
        if (mark === 0 && beatsIn(e, 0) >= 3) {
          mark = e.length;
          (h.store.engine as SqliteStore).db.close(); // every read of the log now fails
        }
        return false;
      }, 1200);
      assert.ok(mark > 0, 'heartbeats flowed while the database answered');
      assert.equal(beatsIn(evs, mark), 0, 'no heartbeat once the log cannot be read');
    } finally {
      await stop(server);
      await h.close().catch(() => undefined);
    }
  });
});

describe('change feed at shutdown', () => {
  it('a shutdown while a read of the log is still delivering ends open streams without a write after end (which would crash authz)', async () => {
    const h = await harness('sqlite');
    const { server, base } = await serve(h.app);
    const uncaught: Error[] = [];
    const onUncaught = (e: Error) => uncaught.push(e);
    process.prependListener('uncaughtException', onUncaught);
    const engine = h.store.engine as SqliteStore;
    const real = engine.changesSince.bind(engine);
    try {
      let ended = false;
      const evs = readFeed(base, '', (e) => e.some((x) => x.event === 'beat'), 3000);
      await evs;
      // Hold the next read of the log open, stop the tail meanwhile (authz shutting down), then let the read deliver.
      let release!: () => void;
      const held = new Promise<void>((r) => (release = r));
      engine.changesSince = async (after, limit) => (await held, real(after, limit));
      const open = new Promise<void>((resolve) => {
        http.get(`${base}/changes`, { headers: { Authorization: `Bearer ${CLIENT}` } }, (res) => {
          res.resume();
          res.on('end', () => ((ended = true), resolve()));
        });
      });
      await new Promise((r) => setTimeout(r, 50));
      await request(h.app).post('/add-role').set(admin).send({ name: 'late', permissions: [{ name: '**', actions: ['pull'] }] }).expect(201);
      const reading = h.store.tail.hint();
      h.store.tail.stop();
      release();
      await reading;
      await open;
      await new Promise((r) => setTimeout(r, 50)); // a write after end surfaces on a later tick
      assert.ok(ended, 'the open stream was ended by the shutdown');
      assert.deepEqual(uncaught.map((e) => e.message), []);
    } finally {
      process.removeListener('uncaughtException', onUncaught);
      engine.changesSince = real;
      await stop(server);
      await h.close().catch(() => undefined);
    }
  });
});

describe('synchronous decision path (SQLite)', () => {
  it('cold and cached decisions are answered without a promise, with the expected grants, and match the async path', async () => {
    const store = await AuthzStore.create(SqliteStore.open(':memory:'));
    try {
      await store.putRole('reader', [{ name: 'team-a/**', actions: ['pull'] }]);
      await store.putRole('ns-push', [{ name: '${namespace}/**', actions: ['pull', 'push'] }]);
      await store.addBinding({ account_name: 'alice', role_name: 'reader' });
      await store.addBinding({ account_name: 'ci-*', role_name: 'reader' });
      await store.addBinding({ account_name: 'ci-*', role_name: 'ns-push', namespace: 'team-b' });
      await store.addBinding({ account_name: 'bob', role_name: 'ns-push', namespace: 'team-a' });
      await store.decide(req({ Account: 'warm-up' })); // loads the pattern bindings once
      // [account, repository, requested actions] → what a user expects granted: a wrong answer on both paths fails here.
      const cases: Array<[string, string, string[], { allowed: boolean; actions: string[] }]> = [
        ['alice', 'team-a/app', ['pull'], { allowed: true, actions: ['pull'] }],
        ['alice', 'team-a/app', ['push', 'pull'], { allowed: false, actions: ['pull'] }],
        ['alice', 'team-b/app', ['pull'], { allowed: false, actions: [] }],
        ['ci-1', 'team-b/app', ['push', 'pull'], { allowed: true, actions: ['pull', 'push'] }],
        ['ci-1', 'team-a/app', ['push', 'pull'], { allowed: false, actions: ['pull'] }],
        ['ci-1', 'team-c/app', ['pull'], { allowed: false, actions: [] }],
        ['bob', 'team-a/deep/app', ['pull', 'push'], { allowed: true, actions: ['pull', 'push'] }],
        ['bob', 'team-ab/app', ['pull'], { allowed: false, actions: [] }],
        ['mallory', 'team-a/app', ['pull'], { allowed: false, actions: [] }],
        ['', 'team-a/app', ['pull'], { allowed: false, actions: [] }],
      ];
      for (const pass of ['cold', 'cached']) {
        for (const [account, name, actions, want] of cases) {
          const r = req({ Account: account, Name: name, Actions: actions });
          const what = `${pass}: "${account}" ${actions.join(',')} on ${name}`;
          assert.deepEqual(store.decideSync(r), want, `synchronous, ${what}`);
          assert.deepEqual(await store.decide(r), want, `async, ${what}`);
        }
      }
      await store.deleteBinding({ account_name: 'alice', role_name: 'reader' });
      assert.deepEqual(store.decideSync(req({ Account: 'alice' })), { allowed: false, actions: [] });
      assert.deepEqual(await store.decide(req({ Account: 'alice' })), { allowed: false, actions: [] });
    } finally {
      await store.close();
    }
  });
});
