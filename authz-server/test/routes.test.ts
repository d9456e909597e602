/** Every REST route: the seed contract and the resource-style routes, with the replies a user reads. */
import assert from 'node:assert/strict';
import request from 'supertest';
import { admin, client, harness, req, type Harness, ENGINES } from './helpers.js';

for (const engine of ENGINES) describe(`REST routes (${engine})`, () => {
  let h: Harness;
  const api = () => request(h.app);
  beforeEach(async () => {
    h = await harness(engine);
  });
  afterEach(() => h.close());

  it('/add-role creates (201), re-adding replaces (200, says so); one permission or an array', async () => {
    const created = await api().post('/add-role').set(admin).send({ name: 'basic-role', permissions: { name: 'x/**', actions: ['pull'] } });
    assert.equal(created.status, 201);
    assert.equal(created.body.created, true);
    const replaced = await api().post('/add-role').set(admin).send({ name: 'basic-role', permissions: [{ name: 'y/**', actions: ['push'] }, { actions: ['pull'] }] });
    assert.equal(replaced.status, 200);
    assert.equal(replaced.body.replaced, true);
    assert.match(replaced.body.message, /replaced/);
    const got = await api().get('/roles/basic-role').set(admin);
    assert.deepEqual(got.body.permissions, [{ name: 'y/**', actions: ['push'] }, { actions: ['pull'] }]);
  });

  it('/add-role-binding and /delete-role-binding exactly as the seed contract', async () => {
    await api().post('/add-role').set(admin).send({ name: 'ns-puller', permissions: { name: '${namespace}/**', actions: ['pull'] } });
    const add = await api().post('/add-role-binding').set(admin).send({ account_name: 'team-a-bot', role_name: 'ns-puller', namespace: 'team-a' });
    assert.equal(add.status, 201);
    assert.deepEqual({ ...add.body.binding, id: 0 }, { id: 0, account_name: 'team-a-bot', role_name: 'ns-puller', namespace: 'team-a' });
    const again = await api().post('/add-role-binding').set(admin).send({ account_name: 'team-a-bot', role_name: 'ns-puller', namespace: 'team-a' });
    assert.equal(again.status, 200);
    assert.equal(again.body.created, false);
    const allowed = await api().post('/authorized').set(client).send(req({ Account: 'team-a-bot', Name: 'team-a/x/y' }));
    assert.equal(allowed.status, 200);
    const del = await api().post('/delete-role-binding').set(admin).send({ account_name: 'team-a-bot', role_name: 'ns-puller', namespace: 'team-a' });
    assert.equal(del.status, 200);
    const denied = await api().post('/authorized').set(client).send(req({ Account: 'team-a-bot', Name: 'team-a/x/y' }));
    assert.equal(denied.status, 403);
    const gone = await api().post('/delete-role-binding').set(admin).send({ account_name: 'team-a-bot', role_name: 'ns-puller', namespace: 'team-a' });
    assert.equal(gone.status, 404);
    assert.equal(gone.body.error.code, 'binding_not_found');
    const otherNs = await api().post('/delete-role-binding').set(admin).send({ account_name: 'team-a-bot', role_name: 'ns-puller' });
    assert.match(otherNs.body.error.message, /without namespace/);
    const noRole = await api().post('/delete-role-binding').set(admin).send({ account_name: 'team-a-bot', role_name: 'ghost' });
    assert.equal(noRole.status, 404);
    assert.equal(noRole.body.error.code, 'role_not_found');
    assert.equal(noRole.body.error.field, 'role_name');
  });

  it('binding to an unknown role → 404 with a clear message, nothing stored', async () => {
    const res = await api().post('/add-role-binding').set(admin).send({ account_name: 'a', role_name: 'ghost' });
    assert.equal(res.status, 404);
    assert.equal(res.body.error.code, 'role_not_found');
    assert.match(res.body.error.message, /role "ghost" does not exist/);
    assert.equal(await h.store.countBindings(), 0);
  });

  it('/delete-role refuses (409) while bindings use it, force deletes role and bindings', async () => {
    await h.store.putRole('r', [{ actions: ['pull'] }]);
    await h.store.addBinding({ account_name: 'a', role_name: 'r' });
    await h.store.addBinding({ account_name: 'b*', role_name: 'r' });
    const refused = await api().post('/delete-role').set(admin).send({ name: 'r' });
    assert.equal(refused.status, 409);
    assert.equal(refused.body.error.code, 'role_in_use');
    assert.match(refused.body.error.message, /2 binding/);
    assert.ok(await h.store.getRole('r'));
    const forced = await api().post('/delete-role').set(admin).send({ name: 'r', force: true });
    assert.equal(forced.status, 200);
    assert.equal(forced.body.deleted_bindings, 2);
    assert.equal(await h.store.getRole('r'), undefined);
    assert.equal(await h.store.countBindings(), 0);
    assert.equal((await h.store.decide(req({ Account: 'bob' }))).allowed, false);
    assert.equal((await api().post('/delete-role').set(admin).send({ name: 'r' })).status, 404);
  });

  it('GET /roles, GET|PUT|DELETE /roles/{name}', async () => {
    const put = await api().put('/roles/ops%2Fadmin').set(admin).send({ permissions: { actions: ['*'] } });
    assert.equal(put.status, 201);
    await api().put('/roles/reader').set(admin).send({ permissions: [{ actions: ['pull'] }] });
    const list = await api().get('/roles').set(admin);
    assert.deepEqual(list.body.roles.map((r: { name: string }) => r.name), ['ops/admin', 'reader']);
    await h.store.addBinding({ account_name: 'x', role_name: 'reader' });
    const one = await api().get('/roles/reader').set(admin);
    assert.equal(one.body.binding_count, 1);
    assert.equal((await api().get('/roles/none').set(admin)).status, 404);
    const mismatch = await api().put('/roles/reader').set(admin).send({ name: 'other', permissions: { actions: ['pull'] } });
    assert.equal(mismatch.status, 400);
    assert.equal(mismatch.body.error.field, 'name');
    assert.equal((await api().delete('/roles/reader').set(admin)).status, 409);
    const del = await api().delete('/roles/reader?force=true').set(admin);
    assert.equal(del.status, 200);
    assert.equal(del.body.deleted_bindings, 1);
    assert.equal((await api().delete('/roles/ops%2Fadmin').set(admin)).status, 200);
    assert.deepEqual((await api().get('/roles').set(admin)).body.roles, []);
  });

  it('GET /bindings filters by account, role, namespace and pages by id', async () => {
    await h.store.putRole('r', [{ actions: ['pull'] }]);
    await h.store.putRole('s', [{ actions: ['push'] }]);
    for (let i = 0; i < 5; i++) await h.store.addBinding({ account_name: `u${i}`, role_name: i % 2 ? 'r' : 's', namespace: `ns${i % 3}` });
    const byRole = await api().get('/bindings?role=r').set(admin);
    assert.deepEqual(byRole.body.bindings.map((b: { account_name: string }) => b.account_name), ['u1', 'u3']);
    const byNs = await api().get('/bindings?namespace=ns0').set(admin);
    assert.deepEqual(byNs.body.bindings.map((b: { account_name: string }) => b.account_name), ['u0', 'u3']);
    const byAcct = await api().get('/bindings?account=u4').set(admin);
    assert.deepEqual(byAcct.body.bindings.map((b: { namespace: string }) => b.namespace), ['ns1']);
    const p1 = await api().get('/bindings?limit=2').set(admin);
    assert.equal(p1.body.bindings.length, 2);
    const p2 = await api().get(`/bindings?limit=2&after=${p1.body.next}`).set(admin);
    const p3 = await api().get(`/bindings?limit=2&after=${p2.body.next}`).set(admin);
    assert.equal(p3.body.next, null);
    const names = [...p1.body.bindings, ...p2.body.bindings, ...p3.body.bindings].map((b: { account_name: string }) => b.account_name);
    assert.deepEqual(names, ['u0', 'u1', 'u2', 'u3', 'u4']);
    assert.equal((await api().get('/bindings?limit=0').set(admin)).body.error.field, 'limit');
    await h.store.addBinding({ account_name: 'plain', role_name: 'r' });
    const noNs = await api().get('/bindings?namespace=').set(admin);
    assert.deepEqual(noNs.body.bindings.map((b: { account_name: string }) => b.account_name), ['plain'], 'namespace= (empty) lists bindings without a namespace');
  });

  it('route params are percent-decoded: a role or account containing "/" is reachable', async () => {
    await h.store.putRole('a/b', [{ name: 'x/**', actions: ['pull'] }]);
    await h.store.addBinding({ account_name: 'org/bot', role_name: 'a/b' });
    assert.equal((await api().get('/roles/a%2Fb').set(admin)).body.binding_count, 1);
    assert.equal((await api().get('/roles/a/b').set(admin)).status, 404);
    const perms = await api().get('/accounts/org%2Fbot/permissions').set(admin);
    assert.deepEqual(perms.body.bindings.map((b: { role: string }) => b.role), ['a/b']);
  });

  it('GET /accounts/{account}/permissions shows exact and glob bindings with variables filled in', async () => {
    await h.store.putRole('ns-puller', [{ name: '${namespace}/**', actions: ['pull'] }]);
    await h.store.putRole('home', [{ name: 'users/${account}/*', actions: ['push'] }]);
    await h.store.addBinding({ account_name: 'bot', role_name: 'ns-puller', namespace: 'team-a' });
    await h.store.addBinding({ account_name: 'b*', role_name: 'home' });
    const res = await api().get('/accounts/bot/permissions').set(admin);
    assert.equal(res.status, 200);
    const names = res.body.bindings.flatMap((b: { permissions: Array<{ name: string }> }) => b.permissions.map((p) => p.name)).sort();
    assert.deepEqual(names, ['team-a/**', 'users/bot/*']);
    await h.store.putRole('pub', [{ name: 'public/**', actions: ['pull'] }]);
    await h.store.addBinding({ account_name: '<anonymous>', role_name: 'pub' });
    const anon = await api().get('/accounts/%3Canonymous%3E/permissions').set(admin);
    assert.deepEqual(anon.body.bindings.map((b: { role: string }) => b.role), ['pub']);
  });

  it('POST /explain names the binding → role → permission for each action, and why not', async () => {
    await h.store.putRole('ns-puller', [{ name: '${namespace}/**', actions: ['pull'] }]);
    await h.store.addBinding({ account_name: 'bot', role_name: 'ns-puller', namespace: 'team-a' });
    const res = await api().post('/explain').set(admin).send(req({ Account: 'bot', Name: 'team-a/app', Actions: ['pull', 'push'] }));
    assert.equal(res.status, 200);
    assert.equal(res.body.allowed, false);
    assert.deepEqual(res.body.actions, ['pull']);
    const pull = res.body.per_action.find((a: { action: string }) => a.action === 'pull');
    assert.deepEqual(pull.granted_by[0].binding, { account_name: 'bot', role_name: 'ns-puller', namespace: 'team-a' });
    assert.equal(pull.granted_by[0].permission_index, 0);
    const other = await api().post('/explain').set(admin).send(req({ Account: 'bot', Name: 'team-b/app' }));
    assert.match(other.body.misses.join('\n'), /name "team-b\/app" does not match "\$\{namespace\}\/\*\*" \(here team-a\/\*\*\)/);
    const nobody = await api().post('/explain').set(admin).send(req({ Account: 'nobody' }));
    assert.match(nobody.body.misses[0], /has no bindings/);
  });

  it('GET /healthz, /readyz; /readyz is 503 once the database is gone', async () => {
    assert.equal((await api().get('/healthz')).status, 200);
    assert.equal((await api().get('/readyz')).status, 200);
    await h.store.close();
    const res = await api().get('/readyz');
    assert.equal(res.status, 503);
    assert.equal(res.body.ok, false);
  });

  it('GET /metrics: Prometheus text with decisions by result and route-pattern labels', async () => {
    await h.store.putRole('r', [{ actions: ['pull'] }]);
    await h.store.addBinding({ account_name: 'alice', role_name: 'r' });
    await api().post('/authorized').set(client).send(req({}));
    await api().post('/authorized').set(client).send(req({ Account: 'eve' }));
    await api().get('/roles/r').set(admin);
    const res = await api().get('/metrics').set(admin);
    assert.match(res.headers['content-type'] ?? '', /text\/plain/);
    assert.match(res.text, /tollgate_authz_decisions_total\{result="allowed"\} 1/);
    assert.match(res.text, /tollgate_authz_decisions_total\{result="denied"\} 1/);
    assert.match(res.text, /route="\/roles\/:name"/);
    assert.doesNotMatch(res.text, /route="\/roles\/r"/);
    for (let i = 0; i < 3; i++) await api().get(`/no-such-route-${i}`).set(admin);
    const after = (await api().get('/metrics').set(admin)).text;
    assert.match(after, /route="unmatched"/);
    assert.doesNotMatch(after, /no-such-route/, 'unknown paths never become label values');
    assert.match(res.text, /tollgate_authz_bindings 1/);
  });

  it('GET /openapi.json documents every mounted route', async () => {
    const doc = (await api().get('/openapi.json')).body as { paths: Record<string, Record<string, unknown>> };
    const expected = [
      'post /authorized', 'post /explain', 'post /add-role', 'post /delete-role', 'post /add-role-binding', 'post /delete-role-binding',
      'get /roles', 'get /roles/{name}', 'put /roles/{name}', 'delete /roles/{name}', 'get /bindings', 'get /accounts/{account}/permissions',
      'get /export', 'post /import', 'get /healthz', 'get /readyz', 'get /metrics', 'get /openapi.json',
      'post /robots', 'get /robots', 'get /robots/{account}', 'post /robots/{account}/rotate', 'delete /robots/{account}', 'post /robots/verify', 'post /robots/lookup', 'get /changes',
      'post /tokens', 'get /tokens', 'delete /tokens/{name}',
    ];
    const documented = Object.entries(doc.paths).flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m} ${p}`));
    assert.deepEqual(documented.sort(), expected.sort());
    // GET /changes streams until the client leaves (change-feed.test.ts reads it).
    for (const op of expected.filter((o) => o !== 'get /changes')) {
      const [method, path] = op.split(' ') as [string, string];
      const live = await request(h.app)[method as 'get'](path.replace(/\{[^}]+\}/g, 'x')).set(admin);
      assert.doesNotMatch(live.body?.error?.message ?? '', /^no route/, `${op} is documented but not routed`);
    }
    type Ops = Record<string, Record<string, { responses: Record<string, { content?: { 'application/json': { schema: { $ref: string } } } }> }>>;
    const paths = doc.paths as unknown as Ops;
    const replies = (path: string, method: string) => paths[path]?.[method]?.responses ?? {};
    assert.equal(replies('/authorized', 'post')['403']?.content?.['application/json'].schema.$ref, '#/components/schemas/AuthorizedResponse', 'the 403 decision is documented');
    assert.ok(replies('/delete-role', 'post')['409'] && replies('/roles/{name}', 'delete')['409'], '409 role_in_use documented');
    assert.ok(replies('/add-role-binding', 'post')['404'] && replies('/roles/{name}', 'get')['404'], '404 role_not_found documented');
    assert.ok(replies('/roles', 'get')['401'] && !replies('/healthz', 'get')['401'], '401 only where a token is needed');
    assert.equal(replies('/robots', 'post')['403']?.content?.['application/json'].schema.$ref, '#/components/schemas/Error', 'the 403 of a scoped route is documented');
    assert.ok(replies('/export', 'get')['403'] && replies('/tokens', 'post')['403'] && !replies('/robots/verify', 'post')['403'], '403 where an API token can be refused');
  });

  it('unknown route → 404 JSON', async () => {
    const res = await api().get('/nope').set(admin);
    assert.equal(res.status, 404);
    assert.equal(res.body.error.code, 'not_found');
  });
});
