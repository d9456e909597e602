/** Bad input corpus: always a 4xx JSON error naming the field, never a 5xx, and the store unchanged. */
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import request from 'supertest';
import { exportState } from '../src/store/state.js';
import { admin, client, harness, req, type Harness, ENGINES } from './helpers.js';

type Case = [title: string, path: string, body: unknown, status: number, field: string | RegExp];

const perm = (p: Record<string, unknown>) => ({ name: 'r2', permissions: p });

const CASES: Case[] = [
  ['wrong type: name is a number', '/add-role', { name: 5, permissions: { actions: ['pull'] } }, 400, 'name'],
  ['wrong type: permissions is a string', '/add-role', { name: 'r2', permissions: 'pull' }, 400, 'permissions'],
  ['wrong type: actions is a string', '/add-role', perm({ actions: 'pull' }), 400, 'permissions[0].actions'],
  ['missing actions', '/add-role', perm({ name: 'x' }), 400, 'permissions[0].actions'],
  ['empty actions', '/add-role', perm({ actions: [] }), 400, 'permissions[0].actions'],
  ['action with a space', '/add-role', perm({ actions: ['pull push'] }), 400, 'permissions[0].actions[0]'],
  ['empty permissions array', '/add-role', { name: 'r2', permissions: [] }, 400, 'permissions'],
  ['unknown top-level field', '/add-role', { name: 'r2', permissions: { actions: ['pull'] }, admin: true }, 400, 'admin'],
  ['unknown permission field', '/add-role', perm({ actions: ['pull'], deny: true }), 400, 'permissions[0].deny'],
  ['empty role name', '/add-role', { name: '', permissions: { actions: ['pull'] } }, 400, 'name'],
  ['control character in role name', '/add-role', { name: 'a\nb', permissions: { actions: ['pull'] } }, 400, 'name'],
  ['role name too long', '/add-role', { name: 'x'.repeat(200), permissions: { actions: ['pull'] } }, 400, 'name'],
  ['empty name pattern', '/add-role', perm({ name: '', actions: ['pull'] }), 400, 'permissions[0].name'],
  ['invalid regex', '/add-role', perm({ name: '/(a/', actions: ['pull'] }), 400, 'permissions[0].name'],
  ['backreference (not RE2)', '/add-role', perm({ name: '/(a)\\1/', actions: ['pull'] }), 400, 'permissions[0].name'],
  ['unknown variable', '/add-role', perm({ name: '${foo}/**', actions: ['pull'] }), 400, 'permissions[0].name'],
  ['unterminated variable', '/add-role', perm({ name: '${namespace/**', actions: ['pull'] }), 400, 'permissions[0].name'],
  ['variable in request_type', '/add-role', perm({ request_type: '${account}', actions: ['pull'] }), 400, 'permissions[0].request_type'],
  ['invalid label pattern', '/add-role', perm({ labels: { team: '/[/' }, actions: ['pull'] }), 400, 'permissions[0].labels.team'],
  ['CIDR prefix too long', '/add-role', perm({ ip: '10.0.0.0/33', actions: ['pull'] }), 400, 'permissions[0].ip'],
  ['v6 prefix too long', '/add-role', perm({ ip: '2001:db8::/129', actions: ['pull'] }), 400, 'permissions[0].ip'],
  ['not an IP', '/add-role', perm({ ip: 'not-an-ip', actions: ['pull'] }), 400, 'permissions[0].ip'],
  ['bad CIDR syntax', '/add-role', perm({ ip: '1.2.3.4/x', actions: ['pull'] }), 400, 'permissions[0].ip'],
  ['second permission bad', '/add-role', { name: 'r2', permissions: [{ actions: ['pull'] }, { ip: '300.1.1.1', actions: ['pull'] }] }, 400, 'permissions[1].ip'],
  ['delete-role: force not boolean', '/delete-role', { name: 'keep', force: 'yes' }, 400, 'force'],
  ['binding: empty account', '/add-role-binding', { account_name: '', role_name: 'keep' }, 400, 'account_name'],
  ['binding: empty namespace', '/add-role-binding', { account_name: 'a', role_name: 'keep', namespace: '' }, 400, 'namespace'],
  ['binding: namespace wrong type', '/add-role-binding', { account_name: 'a', role_name: 'keep', namespace: 5 }, 400, 'namespace'],
  ['binding: account is an array', '/add-role-binding', { account_name: ['a'], role_name: 'keep' }, 400, 'account_name'],
  ['binding: unknown field', '/add-role-binding', { account_name: 'a', role_name: 'keep', expires: 1 }, 400, 'expires'],
  ['binding: invalid account regex', '/add-role-binding', { account_name: '/(/', role_name: 'keep' }, 400, 'account_name'],
  ['binding: variable in account', '/add-role-binding', { account_name: '${account}*', role_name: 'keep' }, 400, 'account_name'],
  ['binding: missing role', '/add-role-binding', { account_name: 'a' }, 400, 'role_name'],
  ['authorized: missing Account', '/authorized', { Type: 'repository', Name: 'x', Service: '', IP: '', Actions: ['pull'] }, 400, 'Account'],
  ['authorized: Actions not an array', '/authorized', { ...req({}), Actions: 'pull' }, 400, 'Actions'],
  ['authorized: Labels wrong shape', '/authorized', { ...req({}), Labels: { team: 'a' } }, 400, 'Labels.team'],
  ['authorized: unknown field', '/authorized', { ...req({}), Scope: 'x' }, 400, 'Scope'],
  ['explain: empty Type', '/explain', { ...req({}), Type: '' }, 400, 'Type'],
  ['import: wrong version', '/import', { version: 2, roles: [], bindings: [] }, 400, 'version'],
  ['JSON array body', '/add-role', [], 400, 'body'],
  ['role name with a leading space (" ops" would look like "ops")', '/add-role', { name: ' ops', permissions: { actions: ['pull'] } }, 400, 'name'],
  ['blank role name', '/add-role', { name: '   ', permissions: { actions: ['pull'] } }, 400, 'name'],
  ['lone surrogate in a role name (not storable as UTF-8)', '/add-role', { name: 'r\ud800', permissions: { actions: ['pull'] } }, 400, 'name'],
  ['lone surrogate in an account name', '/add-role-binding', { account_name: '\udc00x', role_name: 'keep' }, 400, 'account_name'],
  ['namespace with a trailing space', '/add-role-binding', { account_name: 'a', role_name: 'keep', namespace: 'team-a ' }, 400, 'namespace'],
  // JSON.parse gives an own "__proto__" key; a parsed object could not keep it and the condition would silently vanish (grant to all).
  ['label condition keyed "__proto__"', '/add-role', perm({ actions: ['pull'], labels: JSON.parse('{"__proto__":"admins"}') as object }), 400, 'permissions[0].labels.__proto__'],
  ['ip with surrounding spaces', '/add-role', perm({ ip: ' 10.0.0.0/8', actions: ['pull'] }), 400, 'permissions[0].ip'],
  ['ip with a non-numeric prefix', '/add-role', perm({ ip: '10.0.0.0/8a', actions: ['pull'] }), 400, 'permissions[0].ip'],
];

for (const engine of ENGINES) describe(`bad input (${engine})`, () => {
  let h: Harness;
  let before: string;
  const snapshot = () => JSON.stringify({ ...exportState(h.store, new Date(0)) });
  beforeEach(async () => {
    h = await harness(engine);
    await h.store.putRole('keep', [{ name: 'a/**', actions: ['pull'] }]);
    await h.store.addBinding({ account_name: 'alice', role_name: 'keep' });
    before = snapshot();
  });
  // Awaited: the next test's harness must not start while this one's pool and change tail are still closing.
  afterEach(async () => {
    try {
      assert.equal(snapshot(), before, 'store changed');
    } finally {
      await h.close();
    }
  });

  for (const [title, path, body, status, field] of CASES) {
    it(`${title} → ${status} naming ${field}`, async () => {
      const res = await request(h.app).post(path).set(path === '/authorized' ? client : admin).send(body as object);
      assert.equal(res.status, status, JSON.stringify(res.body));
      if (typeof field === 'string') assert.equal(res.body.error.field, field, JSON.stringify(res.body));
      else assert.match(res.body.error.field, field);
      assert.equal(typeof res.body.error.message, 'string');
      assert.ok(res.body.error.message.length > 0);
    });
  }

  for (const [title, raw] of [
    ['malformed JSON', '{"name": "x",'],
    ['bare string JSON', '"hello"'],
    ['JSON null', 'null'],
    ['not JSON at all', 'name=x&permissions=y'],
  ] as const) {
    it(`${title} → 400 invalid_json naming body`, async () => {
      const res = await request(h.app).post('/add-role').set(admin).set('Content-Type', 'application/json').send(raw);
      assert.equal(res.status, 400);
      assert.equal(res.body.error.code, 'invalid_json');
      assert.equal(res.body.error.field, 'body');
    });
  }

  it('empty body → 400 naming the first missing field', async () => {
    const res = await request(h.app).post('/add-role-binding').set(admin);
    assert.equal(res.status, 400);
    assert.equal(res.body.error.field, 'account_name');
  });

  it('body over 64 KiB → 413', async () => {
    const res = await request(h.app).post('/add-role').set(admin).send({ name: 'big', permissions: { name: 'x'.repeat(70 * 1024), actions: ['pull'] } });
    assert.equal(res.status, 413);
    assert.equal(res.body.error.code, 'body_too_large');
    const auth = await request(h.app).post('/authorized').set(client).send({ ...req({}), Name: 'x'.repeat(70 * 1024) });
    assert.equal(auth.status, 413);
  });

  it('a gzip bomb is cut off at 64 KiB inflated (413); a body that is not gzip → 400 naming body', async () => {
    const bomb = gzipSync(Buffer.from(`{"name":"${'x'.repeat(20 * 1024 * 1024)}"}`));
    const big = await request(h.app).post('/add-role').set(admin).set('Content-Encoding', 'gzip').set('Content-Type', 'application/octet-stream').send(bomb);
    assert.equal(big.status, 413);
    assert.equal(big.body.error.code, 'body_too_large');
    const bad = await request(h.app).post('/add-role').set(admin).set('Content-Encoding', 'gzip').set('Content-Type', 'application/octet-stream').send(Buffer.from('not gzip'));
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error.field, 'body');
    const small = gzipSync(Buffer.from('{"name":"keep","permissions":{"actions":["pull"]},"extra":1}'));
    const parsed = await request(h.app).post('/add-role').set(admin).set('Content-Encoding', 'gzip').set('Content-Type', 'application/octet-stream').send(small);
    assert.equal(parsed.body.error.field, 'extra', 'a well-formed gzip body is parsed and validated like any other');
  });

  it('malformed percent-encoding in a path parameter → 400 naming the path; unknown DELETE query parameter → 400', async () => {
    for (const path of ['/roles/%E0%A4%A', '/accounts/%/permissions']) {
      const res = await request(h.app).get(path).set(admin);
      assert.equal(res.status, 400, path);
      assert.equal(res.body.error.field, 'path', path);
    }
    const typo = await request(h.app).delete('/roles/keep?forse=true').set(admin);
    assert.equal(typo.status, 400);
    assert.equal(typo.body.error.field, 'forse');
  });

  it('deeply nested JSON → 4xx, server keeps answering', async () => {
    const res = await request(h.app).post('/add-role').set(admin).set('Content-Type', 'application/json').send('['.repeat(30000) + ']'.repeat(30000));
    assert.ok(res.status >= 400 && res.status < 500, String(res.status));
    assert.equal((await request(h.app).get('/healthz')).status, 200);
  });

  it('bad query parameters → 400 naming the parameter', async () => {
    for (const [q, field] of [['limit=abc', 'limit'], ['limit=0', 'limit'], ['after=-1', 'after'], ['color=red', 'color'], ['account=a&account=b', 'account']]) {
      const res = await request(h.app).get(`/bindings?${q}`).set(admin);
      assert.equal(res.status, 400, q);
      assert.equal(res.body.error.field, field, q);
    }
    const force = await request(h.app).delete('/roles/keep?force=yes').set(admin);
    assert.equal(force.status, 400);
    assert.equal(force.body.error.field, 'force');
    const mode = await request(h.app).post('/import?mode=wipe').set(admin).send({ version: 1, roles: [], bindings: [] });
    assert.equal(mode.body.error.field, 'mode');
  });
});

for (const engine of ENGINES) describe(`odd but valid input is stored literally (${engine})`, () => {
  let h: Harness;
  beforeEach(async () => {
    h = await harness(engine);
  });
  afterEach(() => h.close());

  it('SQL-looking strings are stored and returned literally; tables intact', async () => {
    const evil = "r'; DROP TABLE roles; --";
    const acct = "x' OR '1'='1";
    assert.equal((await request(h.app).post('/add-role').set(admin).send({ name: evil, permissions: { name: "a'b/**", actions: ['pull'] } })).status, 201);
    assert.equal((await request(h.app).post('/add-role-binding').set(admin).send({ account_name: acct, role_name: evil, namespace: '"; --' })).status, 201);
    const roles = await request(h.app).get('/roles').set(admin);
    assert.deepEqual(roles.body.roles.map((r: { name: string }) => r.name), [evil]);
    const got = await request(h.app).get(`/roles/${encodeURIComponent(evil)}`).set(admin);
    assert.equal(got.body.permissions[0].name, "a'b/**");
    const b = await request(h.app).get('/bindings').query({ account: acct }).set(admin);
    assert.deepEqual(b.body.bindings.map((x: { namespace: string }) => x.namespace), ['"; --']);
    assert.equal((await h.store.decide(req({ Account: acct, Name: "a'b/c" }))).allowed, true);
    assert.equal((await h.store.decide(req({ Account: 'someone', Name: "a'b/c" }))).allowed, false);
  });

  it('prototype-looking label keys in requests and roles never cause a 5xx; a request label "__proto__" is a 400 naming Labels', async () => {
    await h.store.putRole('r', [{ labels: { constructor: '**' }, actions: ['pull'] }, { name: '${labels:__proto__}/**', actions: ['push'] }]);
    await h.store.addBinding({ account_name: 'alice', role_name: 'r' });
    const body = (labels: string) => `{"Account":"alice","Type":"repository","Name":"x/y","Service":"","IP":"","Actions":["pull","push"],"Labels":${labels}}`;
    for (const path of ['/authorized', '/explain']) {
      const proto = await request(h.app).post(path).set(admin).set('Content-Type', 'application/json').send(body('{"__proto__":["x"],"toString":["y"]}'));
      assert.equal(proto.status, 400, `${path}: ${proto.status} ${JSON.stringify(proto.body)}`);
      assert.match(JSON.stringify(proto.body), /Labels/);
      assert.match(JSON.stringify(proto.body), /__proto__/);
      const res = await request(h.app).post(path).set(admin).set('Content-Type', 'application/json').send(body('{"toString":["y"]}'));
      assert.ok(res.status < 500, `${path}: ${res.status} ${JSON.stringify(res.body)}`);
      assert.deepEqual(res.body.actions, []);
    }
  });

  it('unicode role, account and namespace names round-trip', async () => {
    const name = 'rôle-日本-🚀';
    assert.equal((await request(h.app).put(`/roles/${encodeURIComponent(name)}`).set(admin).send({ permissions: { name: 'equipe/**', actions: ['pull'] } })).status, 201);
    assert.equal((await request(h.app).post('/add-role-binding').set(admin).send({ account_name: 'Željko', role_name: name, namespace: 'équipe' })).status, 201);
    // Repository names are ASCII (distribution's grammar); accounts, roles and namespaces may be any NFC text.
    const res = await request(h.app).post('/authorized').set(client).send(req({ Account: 'Željko', Name: 'equipe/app' }));
    assert.equal(res.status, 200);
    const got = await request(h.app).get(`/roles/${encodeURIComponent(name)}`).set(admin);
    assert.equal(got.body.name, name);
  });
});
