/** GET /export and POST /import: round trip, replace vs merge, and atomicity (all or nothing). */
import assert from 'node:assert/strict';
import request from 'supertest';
import { admin, client, harness, req, type Harness, ENGINES } from './helpers.js';

for (const engine of ENGINES) describe(`export and import (${engine})`, () => {
  let h: Harness;
  let h2: Harness;
  beforeEach(async () => {
    h = await harness(engine);
    h2 = await harness(engine);
    await h.store.putRole('ns-puller', [{ name: '${namespace}/**', actions: ['pull'] }]);
    await h.store.putRole('pub', [{ name: 'public/**', actions: ['pull'] }]);
    await h.store.addBinding({ account_name: 'bot', role_name: 'ns-puller', namespace: 'team-a' });
    await h.store.addBinding({ account_name: 'sa:*', role_name: 'pub' });
    await h.store.addBinding({ account_name: '<anonymous>', role_name: 'pub' });
  });
  // Awaited: a PostgreSQL database released while still open could be handed to the next test half-reset.
  afterEach(async () => {
    await h.close();
    await h2.close();
  });

  it('export → import into an empty server reproduces roles, bindings and decisions', async () => {
    const exported = (await request(h.app).get('/export').set(admin)).body;
    assert.equal(exported.version, 1);
    assert.equal(exported.roles.length, 2);
    assert.equal(exported.bindings.length, 3);
    const res = await request(h2.app).post('/import').set(admin).send(exported);
    assert.equal(res.status, 200);
    assert.deepEqual({ roles: res.body.roles, bindings: res.body.bindings }, { roles: 2, bindings: 3 });
    const again = (await request(h2.app).get('/export').set(admin)).body;
    assert.deepEqual({ ...again, exported_at: 0 }, { ...exported, exported_at: 0 });
    assert.equal((await h2.store.decide(req({ Account: 'bot', Name: 'team-a/x' }))).allowed, true);
    assert.equal((await h2.store.decide(req({ Account: 'sa:ci', Name: 'public/x' }))).allowed, true);
    assert.equal((await h2.store.decide(req({ Account: '', Name: 'public/x' }))).allowed, true);
  });

  it('replace (default) removes what the file does not hold; merge keeps it', async () => {
    const file = { version: 1, roles: [{ name: 'new', permissions: { actions: ['pull'] } }], bindings: [{ account_name: 'x', role_name: 'new' }] };
    const merged = await request(h.app).post('/import?mode=merge').set(admin).send(file);
    assert.equal(merged.status, 200);
    assert.deepEqual((await h.store.listRoles()).map((r) => r.name), ['new', 'ns-puller', 'pub']);
    assert.equal(await h.store.countBindings(), 4);
    await request(h.app).post('/import').set(admin).send(file);
    assert.deepEqual((await h.store.listRoles()).map((r) => r.name), ['new']);
    assert.equal(await h.store.countBindings(), 1);
    // Caches follow the import: the old glob binding no longer grants anything.
    assert.equal((await h.store.decide(req({ Account: 'sa:ci', Name: 'public/x' }))).allowed, false);
    assert.equal((await h.store.decide(req({ Account: 'x' }))).allowed, true);
  });

  for (const [title, file, field] of [
    ['binding to a role missing from the file', { version: 1, roles: [{ name: 'a', permissions: { actions: ['pull'] } }], bindings: [{ account_name: 'u', role_name: 'a' }, { account_name: 'u', role_name: 'ghost' }] }, 'bindings[1].role_name'],
    ['invalid pattern in the last role', { version: 1, roles: [{ name: 'a', permissions: { actions: ['pull'] } }, { name: 'b', permissions: { name: '/(/', actions: ['pull'] } }], bindings: [] }, 'roles[1].permissions[0].name'],
    ['duplicate role', { version: 1, roles: [{ name: 'a', permissions: { actions: ['pull'] } }, { name: 'a', permissions: { actions: ['push'] } }], bindings: [] }, 'roles[1].name'],
    ['bad binding in the middle', { version: 1, roles: [], bindings: [{ account_name: 'u', role_name: 'pub' }, { account_name: '', role_name: 'pub' }] }, 'bindings[1].account_name'],
  ] as const) {
    it(`atomic: ${title} → 400 naming ${field}, nothing changed`, async () => {
      const before = (await request(h.app).get('/export').set(admin)).body;
      for (const mode of ['replace', 'merge']) {
        const res = await request(h.app).post(`/import?mode=${mode}`).set(admin).send(file);
        assert.equal(res.status, 400, JSON.stringify(res.body));
        assert.equal(res.body.error.field, field);
      }
      const after = (await request(h.app).get('/export').set(admin)).body;
      assert.deepEqual({ ...after, exported_at: 0 }, { ...before, exported_at: 0 });
      assert.equal((await h.store.decide(req({ Account: 'bot', Name: 'team-a/x' }))).allowed, true);
    });
  }

  it('decisions running while an import lands see the old state or the new one, never a mix', async () => {
    await h.store.putRole('old', [{ name: 'team-a/**', actions: ['pull'] }]);
    await h.store.addBinding({ account_name: 'bot', role_name: 'old' });
    const others = Array.from({ length: 20000 }, (_, i) => ({ account_name: `user-${i}`, role_name: 'new', namespace: `ns-${i % 50}` }));
    const file = { version: 1, roles: [{ name: 'new', permissions: { name: 'team-a/**', actions: ['push'] } }], bindings: [...others, { account_name: 'bot', role_name: 'new' }] };
    const ask = () => request(h.app).post('/authorized').set(client).send(req({ Account: 'bot', Name: 'team-a/app', Actions: ['pull', 'push'] }));
    const before = Array.from({ length: 40 }, ask);
    const imported = request(h.app).post('/import').set(admin).send(file);
    const during = Array.from({ length: 80 }, ask);
    const replies = await Promise.all([...before, ...during]);
    assert.equal((await imported).status, 200);
    const seen = new Set(replies.map((r) => `${r.status} ${JSON.stringify(r.body.actions)}`));
    for (const s of seen) assert.ok(s === '403 ["pull"]' || s === '403 ["push"]', `unexpected decision ${s}`);
    const after = await ask();
    assert.deepEqual([after.status, after.body.actions], [403, ['push']]);
  });

  // Another import landing between the route's robot-key check and the write: staged deterministically
  // by running that import (a real one, on the same database) the moment the route reads the key.
  it('a merge whose robot key changes after the route checked it is refused 409 with roles and bindings unchanged', async () => {
    await request(h.app).post('/robots').set(admin).send({ namespace: 'team-a', name: 'ci', actions: ['pull'] }).expect(201);
    const file = (await request(h.app).get('/export').set(admin).expect(200)).body;
    file.roles.push({ name: 'new', permissions: [{ name: 'new/**', actions: ['pull'] }] });
    file.bindings.push({ account_name: 'newcomer', role_name: 'new' });
    const robots = h.store.engine.robots;
    const hashKey = robots.hashKey.bind(robots);
    const otherKey = Buffer.alloc(32, 9);
    let raced = false;
    robots.hashKey = async () => {
      const key = await hashKey();
      if (!raced) {
        raced = true;
        await robots.importAll(otherKey, await robots.list(), 'replace');
      }
      return key;
    };
    const res = await request(h.app).post('/import?mode=merge').set(admin).send(file);
    assert.ok(raced, 'the concurrent import ran between check and write');
    assert.equal(res.status, 409, JSON.stringify(res.body));
    assert.equal(res.body.error.field, 'robots.hash_key');
    assert.equal(await h.store.getRole('new'), undefined, 'no role written');
    assert.equal(await h.store.countBindings(), 3, 'no binding written');
    assert.equal((await h.store.decide(req({ Account: 'newcomer', Name: 'new/x' }))).allowed, false);
    assert.ok((await hashKey()).equals(otherKey), "the concurrent import's key stays");
  });

  it('the engine import writes robots with roles and bindings in one transaction: a key mismatch writes none of them', async () => {
    await request(h.app).post('/robots').set(admin).send({ namespace: 'team-a', name: 'ci', actions: ['pull'] }).expect(201);
    const before = (await request(h.app).get('/export').set(admin)).body;
    const state = { version: 1 as const, roles: [{ name: 'new', permissions: [{ name: 'new/**', actions: ['pull' as const] }] }], bindings: [{ account_name: 'newcomer', role_name: 'new' }] };
    await assert.rejects(h.store.importState(state, 'merge', new Date(), { key: Buffer.alloc(32, 7), records: [] }), (e: { status?: number; field?: string }) => {
      assert.equal(e.status, 409);
      assert.equal(e.field, 'robots.hash_key');
      return true;
    });
    const after = (await request(h.app).get('/export').set(admin)).body;
    assert.deepEqual({ ...after, exported_at: 0 }, { ...before, exported_at: 0 });
    const ok = await h.store.importState(state, 'merge', new Date(), { key: Buffer.from(before.robots.hash_key, 'base64url'), records: [] });
    assert.deepEqual(ok, { roles: 1, bindings: 1, robots: 0 });
  });

  it('import may exceed the 64 KiB limit of other routes', async () => {
    const bindings = Array.from({ length: 3000 }, (_, i) => ({ account_name: `user-${i}`, role_name: 'r', namespace: `ns-${i}` }));
    const file = { version: 1, roles: [{ name: 'r', permissions: { name: '${namespace}/**', actions: ['pull'] } }], bindings };
    assert.ok(JSON.stringify(file).length > 64 * 1024);
    const res = await request(h2.app).post('/import').set(admin).send(file);
    assert.equal(res.status, 200);
    assert.equal(await h2.store.countBindings(), 3000);
    assert.equal((await h2.store.decide(req({ Account: 'user-2999', Name: 'ns-2999/app' }))).allowed, true);
  });
});
