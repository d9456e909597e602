/**
 * Robot accounts in authz-server, on both engines: REST life cycle (create, list, rotate with overlap,
 * delete), secrets stored only as keyed hashes, exactly-their-own decisions, export/import keeping
 * robots, bad input as 4xx, and the v1 → v2 migration of an existing database.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import request from 'supertest';
import { createLogger } from '../../common/logger.js';
import { createApp } from '../src/app.js';
import pg from 'pg';
import { AuthzStore } from '../src/store/decision-cache.js';
import { MIGRATIONS, SCHEMA_VERSION } from '../src/store/migrations.js';
import { migrate as migrateSqlite } from '../src/store/sqlite/migrate.js';
import { migrate as migratePostgres } from '../src/store/postgres/migrate.js';
import { PostgresStore } from '../src/store/postgres/index.js';
import { SqliteStore } from '../src/store/sqlite/index.js';
import { sharedPg } from './pg-server.js';
import { ADMIN, admin, CLIENT, client, ENGINES, harness, req, type Harness } from './helpers.js';

const robotLabel = { credential: ['robot'] };

for (const engine of ENGINES) describe(`robot accounts (authz, ${engine})`, () => {
  let h: Harness;
  let now: Date;
  let app: Harness['app'];

  beforeEach(async () => {
    now = new Date('2026-03-01T00:00:00Z');
    h = await harness(engine, () => now);
    app = h.app;
  });
  afterEach(() => h.close());

  const create = (body: object) => request(app).post('/robots').set(admin).send(body);
  const verify = (account: string, secret: string) => request(app).post('/robots/verify').set(client).send({ account, secret }).expect(200);
  // authn labels a login it verified with a robot secret (common/robots.ts); robots are decided only with it.
  const decide = (over: Parameters<typeof req>[0]) => request(app).post('/authorized').set(client).send(req({ Labels: robotLabel, ...over }));
  const later = (secs: number) => (now = new Date(now.getTime() + secs * 1000));

  it('create shows the secret once; the database holds only a keyed hash', async () => {
    const res = await create({ namespace: 'team-a', name: 'ci', actions: ['pull'], ttl: '90d' }).expect(201);
    assert.equal(res.body.account, 'robot:team-a+ci');
    assert.match(res.body.secret, /^tgr_[A-Za-z0-9_-]{43}$/, '32 random bytes, printable');
    assert.equal(res.body.expires_at, '2026-05-30T00:00:00.000Z');
    const dump = JSON.stringify(await h.sql('SELECT * FROM robots'));
    assert.ok(!dump.includes(res.body.secret) && !dump.includes(res.body.secret.slice(4)), 'secret not stored');
    const list = await request(app).get('/robots').set(admin).expect(200);
    assert.equal(list.body.robots.length, 1);
    assert.doesNotMatch(JSON.stringify(list.body), /secret_hash|previous_hash/, 'no hashes listed');
    assert.equal(list.body.robots[0].secret, undefined);
    await create({ namespace: 'team-a', name: 'ci', actions: ['pull'] }).expect(409);
    assert.equal((await request(app).post('/robots').set(client).send({ namespace: 'x', name: 'y', actions: ['pull'] })).status, 401, 'admin token required');
  });

  it('verify: right secret valid; a wrong secret and an unknown account get the same answer; expiry ends it', async () => {
    const { secret } = (await create({ namespace: 'team-a', name: 'ci', actions: ['pull', 'push'], ttl: '1h' }).expect(201)).body;
    const ok = (await verify('robot:team-a+ci', secret)).body;
    assert.equal(ok.valid, true);
    assert.deepEqual(ok.actions, ['pull', 'push']);
    assert.equal(ok.not_after, Date.parse('2026-03-01T01:00:00Z') / 1000);
    assert.deepEqual((await verify('robot:team-a+ci', `${secret}x`)).body, { valid: false, known: true });
    assert.deepEqual((await verify('robot:team-a+nobody', secret)).body, { valid: false, known: true }, 'robot names are not revealed');
    later(3601);
    assert.deepEqual((await verify('robot:team-a+ci', secret)).body, { valid: false, known: true });
    assert.deepEqual((await decide({ Account: 'robot:team-a+ci', Name: 'team-a/app' })).body, { allowed: false, actions: [] }, 'expired robot gets nothing');
  });

  it('rotate: both secrets work during the overlap, then only the new one; refresh id follows the current secret', async () => {
    const first = (await create({ namespace: 'team-a', name: 'ci', actions: ['pull'] }).expect(201)).body.secret as string;
    const before = (await request(app).post('/robots/lookup').set(client).send({ account: 'robot:team-a+ci' }).expect(200)).body;
    const rot = (await request(app).post(`/robots/${encodeURIComponent('robot:team-a+ci')}/rotate`).set(admin).send({ overlap: '2h' }).expect(200)).body;
    assert.notEqual(rot.secret, first);
    assert.equal(rot.previous_valid_until, '2026-03-01T02:00:00.000Z');
    assert.equal((await verify('robot:team-a+ci', first)).body.valid, true, 'old secret during overlap');
    assert.equal((await verify('robot:team-a+ci', first)).body.not_after, Date.parse('2026-03-01T02:00:00Z') / 1000, 'old secret says when it ends');
    assert.equal((await verify('robot:team-a+ci', rot.secret)).body.valid, true);
    const after = (await request(app).post('/robots/lookup').set(client).send({ account: 'robot:team-a+ci' }).expect(200)).body;
    assert.notEqual(after.credential_id, before.credential_id, 'refresh tokens of the old secret stop');
    assert.equal((await verify('robot:team-a+ci', rot.secret)).body.credential_id, after.credential_id);
    later(7201);
    assert.equal((await verify('robot:team-a+ci', first)).body.valid, false, 'old secret after overlap');
    assert.equal((await verify('robot:team-a+ci', rot.secret)).body.valid, true);
    // Default overlap 24 h; overlap 0 ends the old secret at once.
    const r2 = (await request(app).post('/robots/robot:team-a+ci/rotate').set(admin).send({}).expect(200)).body;
    assert.equal(r2.previous_valid_until, new Date(now.getTime() + 86400_000).toISOString());
    await request(app).post('/robots/robot:team-a+ci/rotate').set(admin).send({ overlap: 0 }).expect(200);
    assert.equal((await verify('robot:team-a+ci', r2.secret)).body.valid, false);
  });

  it('decisions: exactly its actions on <namespace>/…, nothing else, bindings never apply', async () => {
    await create({ namespace: 'team-a', name: 'puller', actions: ['pull'] }).expect(201);
    await create({ namespace: 'team-a', name: 'pusher', actions: ['pull', 'push'] }).expect(201);
    // A catch-all binding must not reach robots.
    await request(app).post('/add-role').set(admin).send({ name: 'all', permissions: [{ name: '**', actions: ['*'] }] }).expect(201);
    await request(app).post('/add-role-binding').set(admin).send({ account_name: '*', role_name: 'all' }).expect(201);
    assert.deepEqual((await decide({ Account: 'robot:team-a+puller', Actions: ['pull'] })).body, { allowed: true, actions: ['pull'] });
    assert.deepEqual((await decide({ Account: 'robot:team-a+puller', Actions: ['pull', 'push'] })).body, { allowed: false, actions: ['pull'] });
    assert.deepEqual((await decide({ Account: 'robot:team-a+pusher', Name: 'team-a/deep/app', Actions: ['pull', 'push'] })).body, { allowed: true, actions: ['pull', 'push'] });
    assert.deepEqual((await decide({ Account: 'robot:team-a+pusher', Actions: ['delete'] })).body, { allowed: false, actions: [] });
    assert.deepEqual((await decide({ Account: 'robot:team-a+pusher', Name: 'team-b/app' })).body, { allowed: false, actions: [] });
    assert.deepEqual((await decide({ Account: 'robot:team-a+pusher', Name: 'team-a' })).body, { allowed: false, actions: [] });
    // Not a repository name at all (common/names.ts): refused with 400 before any decision.
    const dotdot = await decide({ Account: 'robot:team-a+pusher', Name: 'team-a/../team-b/app' });
    assert.equal(dotdot.status, 400);
    assert.equal(dotdot.body.error.field, 'Name');
    assert.deepEqual((await decide({ Account: 'robot:team-a+pusher', Type: 'registry', Name: 'catalog', Actions: ['*'] })).body, { allowed: false, actions: [] });
    assert.deepEqual((await decide({ Account: 'robot:team-a+ghost' })).body, { allowed: false, actions: [] });
    assert.deepEqual((await decide({ Account: 'alice' })).body, { allowed: true, actions: ['pull'] }, 'others still use bindings');
  });

  it('delete: the robot stops; 404 for an unknown one; a malformed account is a 400', async () => {
    const { secret } = (await create({ namespace: 'team-a', name: 'ci', actions: ['pull'] }).expect(201)).body;
    await request(app).delete('/robots/robot:team-a+ci').set(admin).expect(200);
    assert.deepEqual((await verify('robot:team-a+ci', secret)).body, { valid: false, known: true });
    await request(app).delete('/robots/robot:team-a+ci').set(admin).expect(404);
    const bad = await request(app).delete('/robots/alice').set(admin).expect(400);
    assert.equal(bad.body.error.field, 'account');
  });

  it('bad input is a 400 naming the field, never a 500', async () => {
    const cases: Array<[object, string, RegExp]> = [
      [{ namespace: 'Team-A', name: 'ci', actions: ['pull'] }, 'namespace', /RFC 1123/],
      [{ namespace: 'team.a', name: 'ci', actions: ['pull'] }, 'namespace', /namespace/],
      [{ namespace: 'team-a', name: 'c:i', actions: ['pull'] }, 'name', /lowercase/],
      [{ namespace: 'team-a', name: 'a+b', actions: ['pull'] }, 'name', /lowercase/],
      [{ namespace: 'team-a', name: '', actions: ['pull'] }, 'name', /lowercase/],
      [{ namespace: 'team-a', name: 'ci', actions: ['delete'] }, 'actions[0]', /unknown action/],
      [{ namespace: 'team-a', name: 'ci', actions: ['push'] }, 'actions', /must also pull/],
      [{ namespace: 'team-a', name: 'ci', actions: [] }, 'actions', /at least/],
      [{ namespace: 'team-a', name: 'ci', actions: ['pull', 'pull'] }, 'actions', /duplicate/],
      [{ namespace: 'team-a', name: 'ci', actions: ['pull'], ttl: '1m' }, 'ttl', /between/],
      [{ namespace: 'team-a', name: 'ci', actions: ['pull'], ttl: '9999d' }, 'ttl', /between/],
      [{ namespace: 'team-a', name: 'ci', actions: ['pull'], ttl: 'soon' }, 'ttl', /invalid duration/],
      [{ namespace: 'team-a', name: 'ci', actions: ['pull'], secret: 'mine' }, 'secret', /unknown field/],
    ];
    for (const [body, field, msg] of cases) {
      const res = await create(body);
      assert.equal(res.status, 400, JSON.stringify(body));
      assert.equal(res.body.error.field, field, JSON.stringify(body));
      assert.match(res.body.error.message, msg);
    }
    await create({ namespace: 'team-a', name: 'ci', actions: ['pull'] }).expect(201);
    const rot = await request(app).post('/robots/robot:team-a+ci/rotate').set(admin).send({ overlap: '31d' }).expect(400);
    assert.equal(rot.body.error.field, 'overlap');
    for (const q of ['namespace=Bad/ns', 'namespace=a&namespace=b']) {
      const bad = (await request(app).get(`/robots?${q}`).set(admin).expect(400)).body.error;
      assert.equal(bad.field, 'namespace', q);
      assert.match(bad.message, /^namespace: must be a Kubernetes namespace name \(RFC 1123/, q);
    }
    await request(app).post('/robots/verify').set(client).send({ account: 'robot:team-a+ci' }).expect(400);
  });

  it('GET /robots?namespace= filters and shows the overlap', async () => {
    await create({ namespace: 'team-a', name: 'ci', actions: ['pull'] }).expect(201);
    await create({ namespace: 'team-b', name: 'ci', actions: ['pull', 'push'] }).expect(201);
    await request(app).post('/robots/robot:team-b+ci/rotate').set(admin).send({ overlap: '1h' }).expect(200);
    const b = (await request(app).get('/robots?namespace=team-b').set(admin).expect(200)).body.robots;
    assert.deepEqual(b.map((r: { account: string }) => r.account), ['robot:team-b+ci']);
    assert.equal(b[0].previous_valid_until, '2026-03-01T01:00:00.000Z');
    assert.equal((await request(app).get('/robots').set(admin)).body.robots.length, 2);
  });

  it('GET /robots/{account}: one robot without secret or hash; 404 naming the account; 400 for a malformed one; scoped tokens only in their namespaces', async () => {
    const { secret } = (await create({ namespace: 'team-a', name: 'ci', actions: ['pull', 'push'] }).expect(201)).body;
    await create({ namespace: 'team-b', name: 'ci', actions: ['pull'] }).expect(201);
    const one = (await request(app).get('/robots/robot:team-a+ci').set(admin).expect(200)).body;
    assert.deepEqual([one.account, one.namespace, one.name, one.actions, one.rotated_at], ['robot:team-a+ci', 'team-a', 'ci', ['pull', 'push'], null]);
    assert.ok(!JSON.stringify(one).includes(secret) && !/secret_hash|previous_hash/.test(JSON.stringify(one)), 'no secret, no hash');
    const missing = await request(app).get('/robots/robot:team-a+nobody').set(admin).expect(404);
    assert.match(missing.body.error.message, /robot "robot:team-a\+nobody" does not exist/);
    assert.equal(missing.body.error.field, 'account');
    assert.equal((await request(app).get('/robots/alice').set(admin).expect(400)).body.error.field, 'account');
    assert.equal((await request(app).get('/robots/robot:team-a+ci').set(client)).status, 401, 'the client token is not enough');
    const mint = async (body: object) => ({ authorization: `Bearer ${(await request(app).post('/tokens').set(admin).send(body).expect(201)).body.token as string}` });
    for (const [name, abilities] of [['a-read', ['read']], ['a-manage', ['robots:manage']], ['a-rotate', ['robots:rotate']]] as const) {
      const tok = await mint({ name, namespaces: ['team-a'], abilities });
      assert.equal((await request(app).get('/robots/robot:team-a+ci').set(tok).expect(200)).body.account, 'robot:team-a+ci', name);
      assert.equal((await request(app).get('/robots/robot:team-a+nobody').set(tok)).status, 404, `${name}: absence is answered in its namespace`);
      const other = await request(app).get('/robots/robot:team-b+ci').set(tok).expect(403);
      assert.match(other.body.error.message, /team-b/, `${name}: another namespace is refused, naming it`);
    }
    const bindingsOnly = await mint({ name: 'a-bind', namespaces: ['team-a'], abilities: ['bindings:manage'] });
    assert.equal((await request(app).get('/robots/robot:team-a+ci').set(bindingsOnly)).status, 403, 'bindings:manage alone does not show robots');
  });

  it('export/import keeps robots working with their existing secrets (hashes only in the file)', async () => {
    const { secret } = (await create({ namespace: 'team-a', name: 'ci', actions: ['pull'] }).expect(201)).body;
    const exported = (await request(app).get('/export').set(admin).expect(200)).body;
    assert.ok(!JSON.stringify(exported).includes(secret));
    assert.equal(exported.robots.accounts.length, 1);
    // Restore into a brand-new server.
    const other = await harness(engine);
    const app2 = other.app;
    try {
      await request(app2).post('/robots').set(admin).send({ namespace: 'zz', name: 'gone', actions: ['pull'] }).expect(201);
      const res = await request(app2).post('/import').set(admin).send(exported).expect(200);
      assert.equal(res.body.robots, 1);
      assert.equal((await request(app2).post('/robots/verify').set(client).send({ account: 'robot:team-a+ci', secret })).body.valid, true);
      assert.equal((await request(app2).get('/robots').set(admin)).body.robots.length, 1, 'replace drops robots not in the file');
      // A merge with another key would strand hashes: refused before anything changes.
      const foreign = { ...exported, robots: { ...exported.robots, hash_key: Buffer.alloc(32, 7).toString('base64url') } };
      const m = await request(app2).post('/import?mode=merge').set(admin).send(foreign).expect(409);
      assert.equal(m.body.error.field, 'robots.hash_key');
      const badHash = structuredClone(exported);
      badHash.robots.accounts[0].secret_hash = 'plaintext-secret';
      assert.equal((await request(app2).post('/import').set(admin).send(badHash).expect(400)).body.error.field, 'robots.accounts[0].secret_hash');
      const twice = structuredClone(exported);
      twice.robots.accounts.push(twice.robots.accounts[0]);
      twice.roles = [];
      twice.bindings = [];
      await request(app2).post('/add-role').set(admin).send({ name: 'keep-me', permissions: [{ name: 'x/**', actions: ['pull'] }] }).expect(201);
      assert.equal((await request(app2).post('/import').set(admin).send(twice).expect(400)).body.error.field, 'robots.accounts[1]');
      assert.equal((await other.store.getRole('keep-me'))?.name, 'keep-me', 'a refused import replaced no roles');
      assert.equal((await request(app2).post('/robots/verify').set(client).send({ account: 'robot:team-a+ci', secret })).body.valid, true, 'nothing lost');
    } finally {
      await other.close();
    }
  });

  it('isEmpty answers whether any robot exists (what a merge import checks before comparing keys)', async () => {
    const robots = h.store.engine.robots;
    assert.equal(await robots.isEmpty(), true);
    await create({ namespace: 'team-a', name: 'ci', actions: ['pull'] }).expect(201);
    assert.equal(await robots.isEmpty(), false);
    await request(app).delete('/robots/robot:team-a+ci').set(admin).expect(200);
    assert.equal(await robots.isEmpty(), true);
  });

  it('a merge whose key changed after the route checked it (a concurrent import) is refused by the engine with the same 409, never a 500', async () => {
    await create({ namespace: 'team-a', name: 'ci', actions: ['pull'] }).expect(201);
    const robots = h.store.engine.robots;
    const key = await robots.hashKey();
    await assert.rejects(robots.importAll(Buffer.alloc(32, 7), [], 'merge'), (e: { status?: number; field?: string; message: string }) => {
      assert.equal(e.status, 409, e.message);
      assert.equal(e.field, 'robots.hash_key');
      assert.match(e.message, /hash_key differs/);
      return true;
    });
    assert.ok((await robots.hashKey()).equals(key), 'key unchanged');
    assert.equal((await robots.list()).length, 1, 'robots unchanged');
  });

  it('a v1 database migrates to the latest schema keeping its roles, and robots work on it', async () => {
    const v1 = MIGRATIONS.filter((m) => m.version === 1);
    let engineStore: SqliteStore | PostgresStore;
    let version: () => Promise<number>;
    if (engine === 'sqlite') {
      const file = join(h.dir, 'old.db');
      const db = new Database(file);
      migrateSqlite(db, v1);
      db.prepare("INSERT INTO roles (name, permissions, created_at, updated_at) VALUES ('r', '[]', 'x', 'x')").run();
      db.close();
      const s = SqliteStore.open(file);
      engineStore = s;
      version = async () => s.db.pragma('user_version', { simple: true }) as number;
    } else {
      const { url } = await (await sharedPg()).createDatabase();
      const pool = new pg.Pool({ connectionString: url });
      await migratePostgres(pool, v1);
      await pool.query("INSERT INTO roles (name, permissions, created_at, updated_at) VALUES ('r', '[]', 'x', 'x')");
      await pool.end();
      const s = await PostgresStore.open({ url });
      engineStore = s;
      version = async () => (await s.pool.query<{ version: number }>('SELECT version FROM tollgate_schema_version')).rows[0]!.version;
    }
    const old = await AuthzStore.create(engineStore);
    try {
      assert.equal(await version(), SCHEMA_VERSION, 'migrated to the latest version (robots from v2 included)');
      assert.equal((await old.getRole('r'))?.name, 'r');
      const a = createApp({ store: old, logger: createLogger({ name: 't', level: 'silent' }), tokens: { admin: ADMIN, client: CLIENT } });
      await request(a).post('/robots').set(admin).send({ namespace: 'team-a', name: 'ci', actions: ['pull'] }).expect(201);
    } finally {
      await old.close();
    }
  });
});

describe('robot accounts across two PostgreSQL replicas', () => {
  let url: string;
  const apps: Array<{ store: AuthzStore; app: ReturnType<typeof createApp> }> = [];
  beforeEach(async () => {
    url = (await (await sharedPg()).createDatabase()).url;
    for (let i = 0; i < 2; i++) {
      const store = await AuthzStore.create(await PostgresStore.open({ url }));
      apps.push({ store, app: createApp({ store, logger: createLogger({ name: 't', level: 'silent' }), tokens: { admin: ADMIN, client: CLIENT } }) });
    }
  });
  afterEach(async () => {
    for (const a of apps.splice(0)) await a.store.close();
  });

  it('a robot created, rotated, re-keyed by an import or deleted on one replica is what the other uses at once', async () => {
    const [a, b] = [apps[0]!.app, apps[1]!.app];
    const verify = (app: typeof a, secret: string) => request(app).post('/robots/verify').set(client).send({ account: 'robot:team-a+ci', secret }).expect(200);
    const { secret } = (await request(a).post('/robots').set(admin).send({ namespace: 'team-a', name: 'ci', actions: ['pull'] }).expect(201)).body;
    assert.equal((await verify(b, secret)).body.valid, true, 'created on A, valid on B');
    assert.deepEqual((await request(b).post('/authorized').set(client).send(req({ Account: 'robot:team-a+ci', Labels: robotLabel }))).body, { allowed: true, actions: ['pull'] });
    const rot = (await request(a).post('/robots/robot:team-a+ci/rotate').set(admin).send({ overlap: 0 }).expect(200)).body;
    assert.equal((await verify(b, secret)).body.valid, false, 'rotated on A: old secret refused on B');
    assert.equal((await verify(b, rot.secret)).body.valid, true);
    // An export from another deployment (another hash key) replaces A's robots and key; B follows.
    const other = await harness('postgres');
    try {
      const fresh = (await request(other.app).post('/robots').set(admin).send({ namespace: 'team-a', name: 'ci', actions: ['pull', 'push'] }).expect(201)).body.secret as string;
      const file = (await request(other.app).get('/export').set(admin).expect(200)).body;
      await request(a).post('/import').set(admin).send(file).expect(200);
      assert.equal((await verify(b, rot.secret)).body.valid, false, 'the replaced secret no longer works on B');
      assert.equal((await verify(b, fresh)).body.valid, true, 'B hashes with the imported key');
    } finally {
      await other.close();
    }
    await request(a).delete('/robots/robot:team-a+ci').set(admin).expect(200);
    assert.deepEqual((await request(b).post('/authorized').set(client).send(req({ Account: 'robot:team-a+ci', Labels: robotLabel }))).body, { allowed: false, actions: [] }, 'deleted on A: nothing on B');
  });

  it('two replicas asking for the hash key at once agree on one key', async () => {
    const keys = await Promise.all(apps.map((x) => x.store.engine.robots.hashKey()));
    assert.equal(keys[0]!.length, 32);
    assert.ok(keys[0]!.equals(keys[1]!));
  });
});
