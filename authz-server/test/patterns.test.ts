/**
 * Admin patterns cannot hurt the decision path: costly patterns are refused when written, matching
 * is linear (no backtracking), and substituted values stay literal even inside a regex class.
 */
import assert from 'node:assert/strict';
import request from 'supertest';
import { MAX_PROGRAM_SIZE } from '../src/policy/pattern.js';
import { admin, bind, client, harness, req, role, type Harness, ENGINES } from './helpers.js';

for (const engine of ENGINES) describe(`pattern safety (${engine})`, () => {
  let h: Harness;
  beforeEach(async () => {
    h = await harness(engine);
  });
  afterEach(() => h.close());

  // Each of these is valid RE2 but compiles to thousands of instructions; re2js then spends
  // hundreds of milliseconds to seconds per match, on every decision that reaches it.
  for (const [title, pattern] of [
    ['regex with a large counted repetition of a Unicode class', '/\\pL{1000}/'],
    ['regex with a nested counted repetition', '/(.*a){1000}/'],
    ['glob with hundreds of wildcards', '*a'.repeat(300)],
  ] as const) {
    it(`${title} is refused when written (400 naming the field), store unchanged`, async () => {
      const res = await request(h.app).post('/add-role').set(admin).send({ name: 'slow', permissions: { name: pattern, actions: ['pull'] } });
      assert.equal(res.status, 400, JSON.stringify(res.body));
      assert.equal(res.body.error.field, 'permissions[0].name');
      assert.match(res.body.error.message, new RegExp(`too complex: it compiles to \\d+ RE2 instructions \\(at most ${MAX_PROGRAM_SIZE}\\)`));
      assert.equal(await h.store.getRole('slow'), undefined);
    });
  }

  it('a costly account pattern is refused too', async () => {
    await h.store.putRole('r', [{ actions: ['pull'] }]);
    const res = await request(h.app).post('/add-role-binding').set(admin).send({ account_name: '/\\pL{1000}/', role_name: 'r' });
    assert.equal(res.status, 400);
    assert.equal(res.body.error.field, 'account_name');
    assert.equal(await h.store.countBindings(), 0);
  });

  it('rows stored under looser rules (older version, edited by hand) fail closed, never a 5xx', async () => {
    await role(h.store, 'good', { name: 'team-a/**', actions: ['pull'] });
    const ts = new Date(0).toISOString();
    await h.sql('INSERT INTO roles (name, permissions, created_at, updated_at) VALUES (?, ?, ?, ?)', ['old', JSON.stringify([{ name: '/\\pL{1000}/', actions: ['*'] }]), ts, ts]);
    await h.sql('INSERT INTO bindings (account_name, role_name, namespace, is_pattern) VALUES (?, ?, ?, 1)', ['/\\pL{1000}/', 'good', '']);
    await h.sql('INSERT INTO bindings (account_name, role_name, namespace, is_pattern) VALUES (?, ?, ?, 0)', ['alice', 'old', '']);
    await bind(h.store, 'alice', 'good');
    await h.store.reloadRoles();
    const decision = await request(h.app).post('/authorized').set(client).send(req({ Actions: ['pull', 'push'] }));
    assert.deepEqual([decision.status, decision.body.actions], [403, ['pull']], 'the unloadable role grants nothing; the good one still does');
    const other = await request(h.app).post('/authorized').set(client).send(req({ Account: 'bob' }));
    assert.deepEqual([other.status, other.body.actions], [403, []], 'the unloadable account pattern binds nobody');
    const why = await request(h.app).post('/explain').set(admin).send(req({ Actions: ['push'] }));
    assert.match(why.body.misses.join('\n'), /binding alice → old: role "old" could not be loaded/);
    const perms = await request(h.app).get('/accounts/alice/permissions').set(admin);
    assert.equal(perms.status, 200);
    assert.deepEqual(perms.body.bindings.map((b: { role: string }) => b.role).sort(), ['good', 'old']);
  });

  it('ordinary patterns stay well under the limit', async () => {
    for (const name of ['/team-[ab]/app[0-9]+/', 't*m-?/*/**', '${namespace}/**/cache', '/(?i)${account}/[a-z0-9._-]+/', 'x'.repeat(1000), `team/${'x'.repeat(200)}/*`]) {
      const res = await request(h.app).post('/add-role').set(admin).send({ name: 'ok', permissions: { name, actions: ['pull'] } });
      assert.ok(res.status === 200 || res.status === 201, `${name}: ${JSON.stringify(res.body)}`);
    }
  });

  it('classic catastrophic-backtracking patterns answer at once on a 1024-character name', async () => {
    await role(h.store, 'r', { name: '/(a|aa)*b/', actions: ['pull'] }, { name: '/(a*)*b/', actions: ['push'] }, { name: '/(.*a){20}b/', actions: ['delete'] });
    await bind(h.store, 'alice', 'r');
    const started = process.hrtime.bigint();
    const out = await h.store.decide(req({ Name: 'a'.repeat(1024), Actions: ['pull', 'push', 'delete'] }));
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    assert.deepEqual(out.actions, []);
    // A backtracking engine needs on the order of 2^1024 steps here; RE2 a few milliseconds.
    assert.ok(ms < 2000, `took ${ms} ms`);
  });

  it('a variable inside a regex character class is literal ("a-z" is not a range)', async () => {
    await role(h.store, 'r', { name: '/x[${namespace}]+/', actions: ['pull'] });
    await bind(h.store, 'bot', 'r', 'a-z');
    assert.deepEqual((await h.store.decide(req({ Account: 'bot', Name: 'xq' }))).actions, []);
    assert.deepEqual((await h.store.decide(req({ Account: 'bot', Name: 'x-za' }))).actions, ['pull']);
  });

  it('label values are literal inside a regex', async () => {
    await role(h.store, 'r', { name: '/${labels:team}/app/', actions: ['pull'] });
    await bind(h.store, 'alice', 'r');
    const ask = async (Name: string, team: string) => (await h.store.decide(req({ Name, Labels: { team: [team] } }))).actions;
    assert.deepEqual(await ask('ab/app', 'a.'), [], '"." in a value is not a wildcard');
    assert.deepEqual(await ask('a./app', 'a.'), ['pull']);
    assert.deepEqual(await ask('x/app', '.*'), []);
  });

  it('two label variables with many values: any combination of the values matches, nothing else', async () => {
    await role(h.store, 'r', { name: '${labels:org}/${labels:team}/*', actions: ['pull'] });
    await bind(h.store, 'alice', 'r');
    // 12 × 12 = 144 combinations: more than are tried one by one.
    const Labels = { org: Array.from({ length: 12 }, (_, i) => `org${i}`), team: Array.from({ length: 12 }, (_, i) => `t.${i}`) };
    const ask = async (Name: string) => (await h.store.decide(req({ Name, Labels }))).actions;
    assert.deepEqual(await ask('org11/t.7/app'), ['pull']);
    assert.deepEqual(await ask('org0/t.11/app'), ['pull']);
    assert.deepEqual(await ask('org12/t.7/app'), []);
    assert.deepEqual(await ask('org1/tx7/app'), [], '"." in a label value stays literal');
    assert.deepEqual(await ask('org1/t.7/a/b'), [], '* stays in one segment');
  });
});
