/**
 * Admin patterns cannot hurt the decision path: costly patterns are refused when written, matching
 * is linear (no backtracking), and substituted values stay literal even inside a regex class.
 */
import assert from 'node:assert/strict';
import request from 'supertest';
import { MAX_PROGRAM_SIZE } from '../src/policy/pattern.js';
import { admin, bind, client, harness, req, role, type Harness } from './helpers.js';

describe('pattern safety', () => {
  let h: Harness;
  beforeEach(() => {
    h = harness();
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
      assert.equal(h.store.getRole('slow'), undefined);
    });
  }

  it('a costly account pattern is refused too', async () => {
    h.store.putRole('r', [{ actions: ['pull'] }]);
    const res = await request(h.app).post('/add-role-binding').set(admin).send({ account_name: '/\\pL{1000}/', role_name: 'r' });
    assert.equal(res.status, 400);
    assert.equal(res.body.error.field, 'account_name');
    assert.equal(h.store.bindings.count(), 0);
  });

  it('rows stored under looser rules (older version, edited by hand) fail closed, never a 5xx', async () => {
    role(h.store, 'good', { name: 'team-a/**', actions: ['pull'] });
    const ts = new Date(0).toISOString();
    h.store.db.prepare('INSERT INTO roles (name, permissions, created_at, updated_at) VALUES (?, ?, ?, ?)').run('old', JSON.stringify([{ name: '/\\pL{1000}/', actions: ['*'] }]), ts, ts);
    h.store.db.prepare('INSERT INTO bindings (account_name, role_name, namespace, is_pattern) VALUES (?, ?, ?, 1)').run('/\\pL{1000}/', 'good', '');
    h.store.db.prepare('INSERT INTO bindings (account_name, role_name, namespace, is_pattern) VALUES (?, ?, ?, 0)').run('alice', 'old', '');
    bind(h.store, 'alice', 'good');
    h.store.reloadRoles();
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

  it('classic catastrophic-backtracking patterns answer at once on a 1024-character name', () => {
    role(h.store, 'r', { name: '/(a|aa)*b/', actions: ['pull'] }, { name: '/(a*)*b/', actions: ['push'] }, { name: '/(.*a){20}b/', actions: ['delete'] });
    bind(h.store, 'alice', 'r');
    const started = process.hrtime.bigint();
    const out = h.store.decide(req({ Name: 'a'.repeat(1024), Actions: ['pull', 'push', 'delete'] }));
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    assert.deepEqual(out.actions, []);
    // A backtracking engine needs on the order of 2^1024 steps here; RE2 a few milliseconds.
    assert.ok(ms < 2000, `took ${ms} ms`);
  });

  it('a variable inside a regex character class is literal ("a-z" is not a range)', () => {
    role(h.store, 'r', { name: '/x[${namespace}]+/', actions: ['pull'] });
    bind(h.store, 'bot', 'r', 'a-z');
    assert.deepEqual(h.store.decide(req({ Account: 'bot', Name: 'xq' })).actions, []);
    assert.deepEqual(h.store.decide(req({ Account: 'bot', Name: 'x-za' })).actions, ['pull']);
  });

  it('label values are literal inside a regex', () => {
    role(h.store, 'r', { name: '/${labels:team}/app/', actions: ['pull'] });
    bind(h.store, 'alice', 'r');
    const ask = (Name: string, team: string) => h.store.decide(req({ Name, Labels: { team: [team] } })).actions;
    assert.deepEqual(ask('ab/app', 'a.'), [], '"." in a value is not a wildcard');
    assert.deepEqual(ask('a./app', 'a.'), ['pull']);
    assert.deepEqual(ask('x/app', '.*'), []);
  });

  it('two label variables with many values: any combination of the values matches, nothing else', () => {
    role(h.store, 'r', { name: '${labels:org}/${labels:team}/*', actions: ['pull'] });
    bind(h.store, 'alice', 'r');
    // 12 × 12 = 144 combinations: more than are tried one by one.
    const Labels = { org: Array.from({ length: 12 }, (_, i) => `org${i}`), team: Array.from({ length: 12 }, (_, i) => `t.${i}`) };
    const ask = (Name: string) => h.store.decide(req({ Name, Labels })).actions;
    assert.deepEqual(ask('org11/t.7/app'), ['pull']);
    assert.deepEqual(ask('org0/t.11/app'), ['pull']);
    assert.deepEqual(ask('org12/t.7/app'), []);
    assert.deepEqual(ask('org1/tx7/app'), [], '"." in a label value stays literal');
    assert.deepEqual(ask('org1/t.7/a/b'), [], '* stays in one segment');
  });
});
