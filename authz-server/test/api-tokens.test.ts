/**
 * Scoped API tokens on both engines: created, listed and revoked by the admin; a token limited to
 * namespaces and abilities does exactly that on every admin route (403 naming the missing ability or
 * namespace), never export/import/role writes; expired and revoked tokens are 401; bad input is a 400
 * naming the field with nothing written.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import request from 'supertest';
import express from 'express';
import { createLogger } from '../../common/logger.js';
import type { Principal } from '../src/auth/principal.js';
import { errorMiddleware } from '../src/errors.js';
import { createMetrics } from '../src/metrics/index.js';
import { robotRoutes } from '../src/robots/routes.js';
import { admin, client, ENGINES, harness, req, type Harness } from './helpers.js';

const bearer = (t: string) => ({ Authorization: `Bearer ${t}` });

for (const engine of ENGINES) describe(`scoped API tokens (${engine})`, () => {
  let h: Harness;
  let now: Date;

  beforeEach(async () => {
    now = new Date('2026-03-01T00:00:00Z');
    h = await harness(engine, () => now);
    const put = (name: string, permissions: object[]) => request(h.app).post('/add-role').set(admin).send({ name, permissions }).expect(201);
    await put('ns-pull', [{ name: '${namespace}/**', actions: ['pull'] }]);
    await put('app-push', [{ name: 'team-a/app', actions: ['pull', 'push'] }]);
    await put('everything', [{ name: '**', actions: ['*'] }]);
    await put('shared', [{ name: '${namespace}/**', actions: ['pull'] }, { name: 'shared/**', actions: ['pull'] }]);
  });
  afterEach(() => h.close());

  const mint = async (body: object): Promise<string> => (await request(h.app).post('/tokens').set(admin).send(body).expect(201)).body.token as string;
  const robot = (as: Record<string, string>, namespace: string, name = 'ci') => request(h.app).post('/robots').set(as).send({ namespace, name, actions: ['pull'] });
  const bindAs = (as: Record<string, string>, body: object) => request(h.app).post('/add-role-binding').set(as).send(body);
  const forbidden = (res: request.Response, words: RegExp, field?: string) => {
    assert.equal(res.status, 403, JSON.stringify(res.body));
    assert.equal(res.body.error.code, 'forbidden');
    assert.match(res.body.error.message, words);
    if (field) assert.equal(res.body.error.field, field);
  };

  it('create shows the token once; the database holds only its SHA-256; list shows neither', async () => {
    const res = await request(h.app).post('/tokens').set(admin).send({ name: 'team-a-ci', namespaces: ['team-a'], abilities: ['robots:rotate'], ttl: '30d' }).expect(201);
    assert.match(res.body.token, /^tgt_[A-Za-z0-9_-]{43}$/);
    assert.equal(res.body.expires_at, '2026-03-31T00:00:00.000Z');
    const dump = JSON.stringify(await h.sql('SELECT * FROM api_tokens'));
    assert.ok(!dump.includes(res.body.token) && !dump.includes(res.body.token.slice(4)), 'token not stored');
    assert.ok(dump.includes(createHash('sha256').update(res.body.token).digest('hex')), 'its hash is');
    const list = (await request(h.app).get('/tokens').set(admin).expect(200)).body.tokens;
    assert.equal(list.length, 1);
    assert.deepEqual({ ...list[0], id: undefined }, { id: undefined, name: 'team-a-ci', namespaces: ['team-a'], abilities: ['robots:rotate'], created_at: '2026-03-01T00:00:00.000Z', expires_at: '2026-03-31T00:00:00.000Z', last_used_at: null, expired: false });
    assert.doesNotMatch(JSON.stringify(list), /tgt_|token_hash/);
    assert.equal((await request(h.app).post('/tokens').set(admin).send({ name: 'team-a-ci', namespaces: ['team-b'], abilities: ['read'] })).status, 409);
  });

  it('only the admin token manages tokens; the client token is not an admin credential', async () => {
    const t = await mint({ name: 'all', namespaces: ['*'], abilities: ['read', 'robots:manage', 'bindings:manage'] });
    forbidden(await request(h.app).post('/tokens').set(bearer(t)).send({ name: 'x', namespaces: ['team-a'], abilities: ['read'] }), /admin token/);
    forbidden(await request(h.app).get('/tokens').set(bearer(t)), /admin token/);
    forbidden(await request(h.app).delete('/tokens/all').set(bearer(t)), /admin token/);
    assert.equal((await request(h.app).get('/tokens').set(client)).status, 401);
    assert.equal((await request(h.app).get('/roles').set(client)).status, 401);
    // A token for every namespace still binds only in Kubernetes namespace names.
    const bad = await bindAs(bearer(t), { account_name: 'alice', role_name: 'ns-pull', namespace: 'Team.A' });
    assert.equal(bad.status, 400, JSON.stringify(bad.body));
    assert.equal(bad.body.error.field, 'namespace');
    assert.match(bad.body.error.message, /^namespace: must be a Kubernetes namespace name \(RFC 1123/);
  });

  it('a namespace-scoped token cannot create a robot, a binding or a role outside its namespace, nor export or import', async () => {
    const t = bearer(await mint({ name: 'team-a-admin', namespaces: ['team-a'], abilities: ['read', 'robots:manage', 'bindings:manage'] }));
    forbidden(await robot(t, 'team-b'), /namespace "team-b"/, 'namespace');
    forbidden(await bindAs(t, { account_name: 'alice', role_name: 'ns-pull', namespace: 'team-b' }), /namespace "team-b"/, 'namespace');
    forbidden(await bindAs(t, { account_name: 'alice', role_name: 'ns-pull' }), /no namespace/, 'namespace');
    forbidden(await request(h.app).post('/add-role').set(t).send({ name: 'mine', permissions: [{ name: 'team-a/**', actions: ['pull'] }] }), /admin token/);
    forbidden(await request(h.app).put('/roles/ns-pull').set(t).send({ permissions: [{ name: '**', actions: ['*'] }] }), /admin token/);
    forbidden(await request(h.app).delete('/roles/ns-pull').set(t), /admin token/);
    forbidden(await request(h.app).get('/export').set(t), /admin token/);
    const file = (await request(h.app).get('/export').set(admin).expect(200)).body;
    forbidden(await request(h.app).post('/import').set(t).send(file), /admin token/);
    forbidden(await request(h.app).get('/metrics').set(t), /admin token/);
    // Nothing was written by any of those.
    assert.deepEqual((await request(h.app).get('/robots').set(admin)).body.robots, []);
    assert.deepEqual((await request(h.app).get('/bindings').set(admin)).body.bindings, []);
    assert.deepEqual((await request(h.app).get('/roles/ns-pull').set(admin)).body.permissions, [{ name: '${namespace}/**', actions: ['pull'] }]);
    // Inside its namespace it works.
    await robot(t, 'team-a').expect(201);
    await bindAs(t, { account_name: 'alice', role_name: 'ns-pull', namespace: 'team-a' }).expect(201);
    await request(h.app).post('/delete-role-binding').set(t).send({ account_name: 'alice', role_name: 'ns-pull', namespace: 'team-a' }).expect(200);
    await request(h.app).delete('/robots/robot:team-a+ci').set(t).expect(200);
  });

  it('robots:rotate rotates its own namespace\'s robot and nothing else', async () => {
    const first = (await robot(admin, 'team-a').expect(201)).body.secret as string;
    await robot(admin, 'team-b').expect(201);
    const t = bearer(await mint({ name: 'rotator', namespaces: ['team-a'], abilities: ['robots:rotate'] }));
    const rot = await request(h.app).post('/robots/robot:team-a+ci/rotate').set(t).send({ overlap: '1h' }).expect(200);
    assert.notEqual(rot.body.secret, first);
    assert.equal((await request(h.app).post('/robots/verify').set(client).send({ account: 'robot:team-a+ci', secret: rot.body.secret })).body.valid, true);
    forbidden(await request(h.app).post('/robots/robot:team-b+ci/rotate').set(t).send({}), /namespace "team-b"/, 'account');
    forbidden(await request(h.app).post('/robots/robot:team-b+ghost/rotate').set(t).send({}), /namespace "team-b"/, 'account');
    forbidden(await robot(t, 'team-a', 'other'), /ability "robots:manage"/);
    forbidden(await request(h.app).delete('/robots/robot:team-a+ci').set(t), /ability "robots:manage"/);
    // A rotator sees the robots it may rotate (its namespaces), nothing else, and no bindings.
    assert.deepEqual((await request(h.app).get('/robots').set(t).expect(200)).body.robots.map((r: { account: string }) => r.account), ['robot:team-a+ci']);
    forbidden(await request(h.app).get('/robots?namespace=team-b').set(t), /namespace "team-b"/);
    forbidden(await request(h.app).get('/bindings').set(t), /ability "read"/);
    forbidden(await bindAs(t, { account_name: 'alice', role_name: 'ns-pull', namespace: 'team-a' }), /ability "bindings:manage"/);
  });

  it('read sees every role and only its namespaces\' bindings, robots, permissions and explain answers', async () => {
    await robot(admin, 'team-a').expect(201);
    await robot(admin, 'team-b').expect(201);
    await bindAs(admin, { account_name: 'alice', role_name: 'ns-pull', namespace: 'team-a' }).expect(201);
    await bindAs(admin, { account_name: 'alice', role_name: 'ns-pull', namespace: 'team-b' }).expect(201);
    await bindAs(admin, { account_name: 'bob', role_name: 'everything' }).expect(201);
    const t = bearer(await mint({ name: 'viewer', namespaces: ['team-a'], abilities: ['read'] }));
    const roles = (await request(h.app).get('/roles').set(t).expect(200)).body.roles.map((r: { name: string }) => r.name);
    assert.deepEqual(roles, ['app-push', 'everything', 'ns-pull', 'shared']);
    await request(h.app).get('/roles/everything').set(t).expect(200);
    const bindings = (await request(h.app).get('/bindings').set(t).expect(200)).body.bindings;
    assert.deepEqual(bindings.map((b: { namespace: string }) => b.namespace), ['team-a']);
    forbidden(await request(h.app).get('/bindings?namespace=team-b').set(t), /namespace "team-b"/);
    assert.deepEqual((await request(h.app).get('/robots').set(t).expect(200)).body.robots.map((r: { account: string }) => r.account), ['robot:team-a+ci']);
    forbidden(await request(h.app).get('/robots?namespace=team-b').set(t), /namespace "team-b"/);
    const perms = (await request(h.app).get('/accounts/alice/permissions').set(t).expect(200)).body.bindings;
    assert.deepEqual(perms.map((b: { binding: { namespace: string } }) => b.binding.namespace), ['team-a']);
    const ex = (await request(h.app).post('/explain').set(t).send(req({ Account: 'alice', Name: 'team-a/app' })).expect(200)).body;
    assert.equal(ex.allowed, true);
    assert.equal(ex.hidden_bindings, 1, 'the team-b binding is counted, not shown');
    assert.doesNotMatch(JSON.stringify(ex), /team-b/);
    forbidden(await request(h.app).post('/explain').set(t).send(req({ Account: 'alice', Name: 'team-b/app' })), /namespace "team-b"/, 'Name');
    forbidden(await request(h.app).post('/add-role-binding').set(t).send({ account_name: 'x', role_name: 'ns-pull', namespace: 'team-a' }), /ability "bindings:manage"/);
  });

  it('bindings:manage binds only roles contained in the namespace', async () => {
    await request(h.app).post('/add-role').set(admin).send({ name: 'by-label', permissions: [{ name: '${labels:team}/**', actions: ['pull'] }] }).expect(201);
    await request(h.app).post('/add-role').set(admin).send({ name: 'regex-any', permissions: [{ name: '/team-a\\/x|.*/', actions: ['pull'] }] }).expect(201);
    await request(h.app).post('/add-role').set(admin).send({ name: 'catalog', permissions: [{ request_type: 'registry', name: 'catalog', actions: ['*'] }] }).expect(201);
    const t = bearer(await mint({ name: 'binder', namespaces: ['team-*'], abilities: ['bindings:manage'] }));
    for (const role of ['everything', 'shared', 'by-label', 'regex-any', 'catalog']) {
      forbidden(await bindAs(t, { account_name: '*', role_name: role, namespace: 'team-a' }), new RegExp(`role "${role}" can reach outside namespace "team-a"`), 'role_name');
    }
    assert.deepEqual((await request(h.app).get('/bindings').set(admin)).body.bindings, [], 'nothing written');
    await bindAs(t, { account_name: '*', role_name: 'ns-pull', namespace: 'team-a' }).expect(201);
    await bindAs(t, { account_name: 'ci', role_name: 'app-push', namespace: 'team-a' }).expect(201);
    forbidden(await bindAs(t, { account_name: 'ci', role_name: 'app-push', namespace: 'team-b' }), /outside namespace "team-b"/, 'role_name');
    forbidden(await bindAs(t, { account_name: 'ci', role_name: 'ns-pull', namespace: 'prod' }), /namespace "prod"/, 'namespace');
    assert.equal((await bindAs(t, { account_name: 'ci', role_name: 'nope', namespace: 'team-a' })).status, 404);
    // What it bound grants what the admin would expect: team-a only.
    assert.equal((await request(h.app).post('/authorized').set(client).send(req({ Account: 'anyone', Name: 'team-a/app' }))).status, 200);
    assert.equal((await request(h.app).post('/authorized').set(client).send(req({ Account: 'anyone', Name: 'shared/base' }))).status, 403);
  });

  it('expired and revoked tokens are 401; last use is recorded', async () => {
    const t = bearer(await mint({ name: 'short', namespaces: ['team-a'], abilities: ['read'], ttl: '1h' }));
    const keep = bearer(await mint({ name: 'keep', namespaces: ['team-a'], abilities: ['read'] }));
    await request(h.app).get('/roles').set(t).expect(200);
    const used = (await request(h.app).get('/tokens').set(admin)).body.tokens.find((x: { name: string }) => x.name === 'short');
    assert.equal(used.last_used_at, '2026-03-01T00:00:00.000Z');
    now = new Date(now.getTime() + 3601_000);
    const expired = await request(h.app).get('/roles').set(t);
    assert.equal(expired.status, 401);
    assert.match(expired.body.error.message, /expired or revoked/);
    assert.equal((await request(h.app).get('/tokens').set(admin)).body.tokens.find((x: { name: string }) => x.name === 'short').expired, true);
    await request(h.app).get('/roles').set(keep).expect(200);
    await request(h.app).delete('/tokens/keep').set(admin).expect(200);
    assert.equal((await request(h.app).get('/roles').set(keep)).status, 401, 'revoked');
    assert.equal((await request(h.app).delete('/tokens/keep').set(admin)).status, 404);
    assert.equal((await request(h.app).get('/roles').set(bearer(`tgt_${'A'.repeat(43)}`))).status, 401, 'unknown token');
    assert.equal((await request(h.app).post('/authorized').set(keep).send(req({}))).status, 401, 'API tokens are not client tokens');
  });

  it('last use is written at most once a minute per token', async () => {
    const t = bearer(await mint({ name: 'poller', namespaces: ['team-a'], abilities: ['read'] }));
    const lastUsed = async () => (await request(h.app).get('/tokens').set(admin)).body.tokens[0].last_used_at as string | null;
    assert.equal(await lastUsed(), null);
    await request(h.app).get('/roles').set(t).expect(200);
    now = new Date(now.getTime() + 30_000);
    await request(h.app).get('/roles').set(t).expect(200);
    assert.equal(await lastUsed(), '2026-03-01T00:00:00.000Z', 'not rewritten within the minute');
    now = new Date(now.getTime() + 31_000);
    await request(h.app).get('/roles').set(t).expect(200);
    assert.equal(await lastUsed(), '2026-03-01T00:01:01.000Z');
  });

  it('REST and console use of one token share one last-used throttle: one write a minute at most, console use counted', async () => {
    const token = await mint({ name: 'both', namespaces: ['team-a'], abilities: ['read'] });
    const engineStore = h.store.engine;
    const real = engineStore.touchApiToken.bind(engineStore);
    const writes: string[] = [];
    // The first write (the REST use at 0 s) is recorded but not forwarded: the database keeps no
    // last_used_at, so only a throttle REST and console share in memory (one resolver) can keep the
    // console's sign-in and use at 10–20 s from writing again; a second resolver would write.
    engineStore.touchApiToken = async (id, at) => {
      writes.push(at);
      if (writes.length > 1) await real(id, at);
    };
    try {
      const at = (s: number) => (now = new Date(Date.parse('2026-03-01T00:00:00Z') + s * 1000));
      const lastUsed = async () => (await request(h.app).get('/tokens').set(admin)).body.tokens.find((x: { name: string }) => x.name === 'both').last_used_at as string | null;
      const rest = () => request(h.app).get('/roles').set(bearer(token)).expect(200);
      await rest();
      at(10);
      const signIn = await request(h.app).post('/ui/api/session').set('Host', '127.0.0.1').send({ token }).expect(201);
      const cookie = String((signIn.headers['set-cookie'] as unknown as string[])[0]).split(';')[0] ?? '';
      const ui = () => request(h.app).get('/ui/api/roles').set('Cookie', cookie).expect(200);
      at(20);
      await ui();
      assert.deepEqual(writes, ['2026-03-01T00:00:00.000Z'], 'sign-in and console use within the minute of a REST use write nothing');
      assert.equal(await lastUsed(), null, 'the REST write was not forwarded: nothing in the database throttled the console');
      at(61);
      await ui();
      assert.equal(await lastUsed(), '2026-03-01T00:01:01.000Z', 'a console session using the token is a use');
      at(70);
      await rest();
      at(125);
      await Promise.all([rest(), ui(), rest(), ui(), rest(), ui()]);
      assert.deepEqual(writes, ['2026-03-01T00:00:00.000Z', '2026-03-01T00:01:01.000Z', '2026-03-01T00:02:05.000Z'], 'one write per minute, whichever surface used it');
      assert.equal(await lastUsed(), '2026-03-01T00:02:05.000Z');
    } finally {
      engineStore.touchApiToken = real;
    }
  });

  it('routes decide from res.locals.principal, so another authentication can mount them (contracts §1)', async () => {
    await robot(admin, 'team-a').expect(201);
    await robot(admin, 'team-b').expect(201);
    const principal: Principal = { kind: 'scoped', id: 'x', name: 'console-session', namespaces: ['team-b'], abilities: ['read'] };
    const app = express();
    const setPrincipal: express.RequestHandler = (_req, res, next) => ((res.locals.principal = principal), next());
    const ctx = { store: h.store, logger: createLogger({ name: 't', level: 'silent' }), metrics: createMetrics({ roles: async () => 0, bindings: async () => 0 }, false), clock: () => now, admin: setPrincipal, client: setPrincipal };
    app.use(robotRoutes({ ...ctx, robots: h.store.engine.robots }), errorMiddleware(ctx.logger));
    assert.deepEqual((await request(app).get('/robots').expect(200)).body.robots.map((r: { account: string }) => r.account), ['robot:team-b+ci']);
    forbidden(await request(app).post('/robots').send({ namespace: 'team-b', name: 'new', actions: ['pull'] }), /robots:manage/);
    const bare = express();
    bare.use(robotRoutes({ ...ctx, admin: (_req, _res, next) => next(), robots: h.store.engine.robots }), errorMiddleware(ctx.logger));
    assert.equal((await request(bare).get('/robots')).status, 401, 'no principal: fail closed');
  });

  it('bad input: 400 naming the field, nothing written', async () => {
    const cases: Array<[object, string, RegExp]> = [
      [{ name: 'x', namespaces: ['team-a'], abilities: ['root'] }, 'abilities[0]', /unknown ability/],
      [{ name: 'x', namespaces: ['team-a'], abilities: [] }, 'abilities', /at least one ability/],
      [{ name: 'x', namespaces: ['team-a'], abilities: ['read', 'read'] }, 'abilities', /duplicate/],
      [{ name: 'x', namespaces: [], abilities: ['read'] }, 'namespaces', /at least one namespace/],
      [{ name: 'x', namespaces: ['*', 'team-a'], abilities: ['read'] }, 'namespaces[1]', /overlaps "\*"/],
      [{ name: 'x', namespaces: ['team-*', 'team-a'], abilities: ['read'] }, 'namespaces[1]', /overlaps "team-\*"/],
      [{ name: 'x', namespaces: ['team-a', 'team-a'], abilities: ['read'] }, 'namespaces[1]', /overlaps/],
      [{ name: 'x', namespaces: ['Team_A'], abilities: ['read'] }, 'namespaces[0]', /namespace name/],
      [{ name: 'x', namespaces: ['/.*/'], abilities: ['read'] }, 'namespaces[0]', /namespace name/],
      [{ name: '', namespaces: ['team-a'], abilities: ['read'] }, 'name', /letters, digits/],
      [{ name: 'x y', namespaces: ['team-a'], abilities: ['read'] }, 'name', /letters, digits/],
      [{ name: 'x', namespaces: ['team-a'], abilities: ['read'], ttl: '1s' }, 'ttl', /between/],
      [{ name: 'x', namespaces: ['team-a'], abilities: ['read'], ttl: 30 }, 'ttl', /^ttl: ttl must be between/],
      [{ name: 'x', namespaces: ['team-a'], abilities: ['read'], ttl: '1.5d' }, 'ttl', /^ttl: invalid duration "1\.5d" \(use e\.g\. 90s/],
      [{ name: 'x', namespaces: ['team-a'], abilities: ['read'], ttl: '9'.repeat(33) }, 'ttl', /^ttl: Too big: expected string to have <=32 characters$/],
      [{ name: 'x', namespaces: ['team-a'], abilities: ['read'], ttl: 1.5 }, 'ttl', /^ttl: Invalid input$/],
      [{ name: 'x', namespaces: ['team-a'], abilities: ['read'], admin: true }, 'admin', /unknown field/],
      [{ namespaces: ['team-a'], abilities: ['read'] }, 'name', /./],
    ];
    for (const [body, field, words] of cases) {
      const res = await request(h.app).post('/tokens').set(admin).send(body);
      assert.equal(res.status, 400, `${JSON.stringify(body)} → ${res.status}`);
      assert.equal(res.body.error.field, field, JSON.stringify(res.body));
      assert.match(res.body.error.message, words);
    }
    assert.equal((await request(h.app).post('/tokens').set(admin).set('Content-Type', 'application/json').send('{"name":')).status, 400);
    assert.equal((await request(h.app).delete('/tokens/bad%20name').set(admin)).body.error.field, 'name');
    assert.deepEqual((await request(h.app).get('/tokens').set(admin)).body.tokens, []);
    assert.deepEqual(await h.sql('SELECT * FROM api_tokens'), []);
  });
});
