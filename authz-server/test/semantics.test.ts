/** The decision semantics table: every rule of the README's "Decision semantics", through the real store. */
import assert from 'node:assert/strict';
import request from 'supertest';
import type { AuthorizedRequest } from '../../common/authorized.js';
import type { Permission } from '../src/policy/permission.js';
import { bind, client, harness, req, role, type Harness, ENGINES } from './helpers.js';

interface Case {
  title: string;
  roles: Record<string, Permission[]>;
  bindings: Array<[account: string, role: string, namespace?: string]>;
  request: Partial<AuthorizedRequest>;
  granted: string[];
}

const pull = (name: string): Permission => ({ name, actions: ['pull'] });

const CASES: Case[] = [
  { title: 'literal name grants pull', roles: { r: [pull('team-a/app')] }, bindings: [['alice', 'r']], request: { Name: 'team-a/app' }, granted: ['pull'] },
  { title: 'literal name does not match another repo', roles: { r: [pull('team-a/app')] }, bindings: [['alice', 'r']], request: { Name: 'team-a/app2' }, granted: [] },
  { title: '* stays within one segment', roles: { r: [pull('team-a/*')] }, bindings: [['alice', 'r']], request: { Name: 'team-a/x/y' }, granted: [] },
  { title: '* matches one segment', roles: { r: [pull('team-a/*')] }, bindings: [['alice', 'r']], request: { Name: 'team-a/x' }, granted: ['pull'] },
  { title: '? matches one character', roles: { r: [pull('app?')] }, bindings: [['alice', 'r']], request: { Name: 'app1' }, granted: ['pull'] },
  { title: '? never matches /', roles: { r: [pull('a?b')] }, bindings: [['alice', 'r']], request: { Name: 'a/b' }, granted: [] },
  { title: '** crosses segments', roles: { r: [pull('team-a/**')] }, bindings: [['alice', 'r']], request: { Name: 'team-a/x/y/z' }, granted: ['pull'] },
  { title: '** in the middle', roles: { r: [pull('team-a/**/cache')] }, bindings: [['alice', 'r']], request: { Name: 'team-a/x/y/cache' }, granted: ['pull'] },
  { title: 'glob is a whole-name match', roles: { r: [pull('team-a/*')] }, bindings: [['alice', 'r']], request: { Name: 'x/team-a/app' }, granted: [] },
  { title: 'mixed glob goes through RE2', roles: { r: [pull('t*m-?/*/**')] }, bindings: [['alice', 'r']], request: { Name: 'team-a/b/c/d' }, granted: ['pull'] },
  { title: 'regex full match', roles: { r: [pull('/team-[ab]/app[0-9]+/')] }, bindings: [['alice', 'r']], request: { Name: 'team-b/app42' }, granted: ['pull'] },
  { title: 'regex is anchored (no partial match)', roles: { r: [pull('/team-a/')] }, bindings: [['alice', 'r']], request: { Name: 'team-a/app' }, granted: [] },
  { title: '${namespace} with a namespaced binding', roles: { r: [pull('${namespace}/**')] }, bindings: [['bot', 'r', 'team-a']], request: { Account: 'bot', Name: 'team-a/x/y' }, granted: ['pull'] },
  { title: '${namespace} does not reach another namespace', roles: { r: [pull('${namespace}/**')] }, bindings: [['bot', 'r', 'team-a']], request: { Account: 'bot', Name: 'team-b/app' }, granted: [] },
  { title: '${namespace} never matches through a binding without namespace', roles: { r: [pull('${namespace}/**'), pull('${namespace}**')] }, bindings: [['bot', 'r']], request: { Account: 'bot', Name: '/app' }, granted: [] },
  { title: 'namespace value is literal, not a glob', roles: { r: [pull('${namespace}/app')] }, bindings: [['bot', 'r', 'team-*']], request: { Account: 'bot', Name: 'team-x/app' }, granted: [] },
  { title: '${namespace} inside a regex is quoted', roles: { r: [pull('/${namespace}/[a-z]+/')] }, bindings: [['bot', 'r', 'a.b']], request: { Account: 'bot', Name: 'axb/app' }, granted: [] },
  { title: '${account} substitution', roles: { r: [pull('users/${account}/**')] }, bindings: [['alice', 'r']], request: { Name: 'users/alice/tools' }, granted: ['pull'] },
  { title: '${account}/* stays in one segment', roles: { r: [pull('users/${account}/*')] }, bindings: [['alice', 'r']], request: { Name: 'users/alice/a/b' }, granted: [] },
  { title: '${namespace}/app is an exact name', roles: { r: [pull('${namespace}/app')] }, bindings: [['bot', 'r', 'team-a']], request: { Account: 'bot', Name: 'team-a/app2' }, granted: [] },
  { title: '${account} does not match another user', roles: { r: [pull('users/${account}/**')] }, bindings: [['alice', 'r']], request: { Name: 'users/bob/tools' }, granted: [] },
  { title: '${labels:KEY} any value matches', roles: { r: [pull('${labels:team}/**')] }, bindings: [['alice', 'r']], request: { Name: 'blue/app', Labels: { team: ['red', 'blue'] } }, granted: ['pull'] },
  { title: '${labels:KEY} missing label never matches', roles: { r: [pull('${labels:team}/**')] }, bindings: [['alice', 'r']], request: { Name: 'blue/app', Labels: null }, granted: [] },
  { title: 'label condition matches', roles: { r: [{ labels: { group: 'admins' }, actions: ['*'] }] }, bindings: [['alice', 'r']], request: { Actions: ['delete'], Labels: { group: ['devs', 'admins'] } }, granted: ['delete'] },
  { title: 'label key named like an Object.prototype member is just a missing label', roles: { r: [{ labels: { constructor: '**' }, actions: ['pull'] }, pull('${labels:toString}/**')] }, bindings: [['alice', 'r']], request: { Name: 'x/y', Labels: { team: ['a'] } }, granted: [] },
  { title: 'label condition fails', roles: { r: [{ labels: { group: 'admins' }, actions: ['*'] }] }, bindings: [['alice', 'r']], request: { Actions: ['delete'], Labels: { group: ['devs'] } }, granted: [] },
  { title: 'glob account binding matches', roles: { r: [pull('**')] }, bindings: [['system:serviceaccount:team-a:*', 'r']], request: { Account: 'system:serviceaccount:team-a:builder' }, granted: ['pull'] },
  { title: 'glob account binding does not match other prefix', roles: { r: [pull('**')] }, bindings: [['system:serviceaccount:team-a:*', 'r']], request: { Account: 'system:serviceaccount:team-b:builder' }, granted: [] },
  { title: 'glob * account binding never matches anonymous', roles: { r: [pull('**')] }, bindings: [['*', 'r'], ['**', 'r']], request: { Account: '' }, granted: [] },
  { title: '<anonymous> binding grants anonymous', roles: { r: [pull('public/**')] }, bindings: [['<anonymous>', 'r']], request: { Account: '', Name: 'public/app' }, granted: ['pull'] },
  { title: '<anonymous> binding is not for logged-in accounts', roles: { r: [pull('public/**')] }, bindings: [['<anonymous>', 'r']], request: { Account: 'alice', Name: 'public/app' }, granted: [] },
  { title: 'account literally named <anonymous> gets nothing', roles: { r: [pull('public/**')] }, bindings: [['<anonymous>', 'r']], request: { Account: '<anonymous>', Name: 'public/app' }, granted: [] },
  { title: 'CIDR v4 inside', roles: { r: [{ ip: '10.0.0.0/8', actions: ['pull'] }] }, bindings: [['alice', 'r']], request: { IP: '10.20.30.40' }, granted: ['pull'] },
  { title: 'CIDR v4 outside', roles: { r: [{ ip: '10.0.0.0/8', actions: ['pull'] }] }, bindings: [['alice', 'r']], request: { IP: '11.0.0.1' }, granted: [] },
  { title: 'CIDR v4 matches IPv4-mapped v6 client', roles: { r: [{ ip: '10.0.0.0/8', actions: ['pull'] }] }, bindings: [['alice', 'r']], request: { IP: '::ffff:10.1.2.3' }, granted: ['pull'] },
  { title: 'CIDR v4 matches an IPv4-mapped v6 client in hex form', roles: { r: [{ ip: '10.0.0.0/8', actions: ['pull'] }] }, bindings: [['alice', 'r']], request: { IP: '::ffff:a01:203' }, granted: ['pull'] },
  { title: 'IPv4-mapped v6 CIDR matches a plain v4 client', roles: { r: [{ ip: '::ffff:10.0.0.0/104', actions: ['pull'] }] }, bindings: [['alice', 'r']], request: { IP: '10.9.9.9' }, granted: ['pull'] },
  { title: 'CIDR v4 does not match a v6 client outside the mapped range', roles: { r: [{ ip: '0.0.0.0/0', actions: ['pull'] }] }, bindings: [['alice', 'r']], request: { IP: '2001:db8::1' }, granted: [] },
  { title: 'names are case-sensitive', roles: { r: [pull('team-a/**')] }, bindings: [['alice', 'r']], request: { Name: 'Team-A/app' }, granted: [] },
  { title: 'account names are case-sensitive', roles: { r: [pull('**')] }, bindings: [['alice', 'r']], request: { Account: 'Alice' }, granted: [] },
  { title: '(?i) in a regex opts into case-insensitive matching', roles: { r: [pull('/(?i)team-a/.*/')] }, bindings: [['alice', 'r']], request: { Name: 'TEAM-A/app' }, granted: ['pull'] },
  { title: 'a request account that looks like a glob gets no exact bindings and is matched literally', roles: { r: [pull('**')] }, bindings: [['al*', 'r'], ['alice', 'r']], request: { Account: 'a*' }, granted: [] },
  { title: 'single IP', roles: { r: [{ ip: '192.0.2.7', actions: ['pull'] }] }, bindings: [['alice', 'r']], request: { IP: '192.0.2.8' }, granted: [] },
  { title: 'CIDR v6 inside', roles: { r: [{ ip: '2001:db8::/32', actions: ['pull'] }] }, bindings: [['alice', 'r']], request: { IP: '2001:db8:1::5' }, granted: ['pull'] },
  { title: 'CIDR v6 outside', roles: { r: [{ ip: '2001:db8::/32', actions: ['pull'] }] }, bindings: [['alice', 'r']], request: { IP: '2001:db9::1' }, granted: [] },
  { title: 'unknown client IP never satisfies an ip condition', roles: { r: [{ ip: '0.0.0.0/0', actions: ['pull'] }] }, bindings: [['alice', 'r']], request: { IP: '' }, granted: [] },
  { title: 'service pattern', roles: { r: [{ service: 'registry-*', actions: ['pull'] }] }, bindings: [['alice', 'r']], request: { Service: 'registry-eu' }, granted: ['pull'] },
  { title: 'service mismatch', roles: { r: [{ service: 'registry-*', actions: ['pull'] }] }, bindings: [['alice', 'r']], request: { Service: 'other' }, granted: [] },
  { title: 'request_type defaults to repository', roles: { r: [{ actions: ['*'] }] }, bindings: [['alice', 'r']], request: { Type: 'registry', Name: 'catalog', Actions: ['*'] }, granted: [] },
  { title: 'catalog is an ordinary request', roles: { r: [{ request_type: 'registry', name: 'catalog', actions: ['*'] }] }, bindings: [['alice', 'r']], request: { Type: 'registry', Name: 'catalog', Actions: ['*'] }, granted: ['*'] },
  { title: '* in a permission grants every requested action', roles: { r: [{ name: 'x/**', actions: ['*'] }] }, bindings: [['alice', 'r']], request: { Name: 'x/y', Actions: ['push', 'pull', 'delete'] }, granted: ['delete', 'pull', 'push'] },
  { title: 'requested * is not granted by a pull permission', roles: { r: [pull('**')] }, bindings: [['alice', 'r']], request: { Actions: ['*'] }, granted: [] },
  { title: 'intersection: only granted actions returned', roles: { r: [pull('**')] }, bindings: [['alice', 'r']], request: { Actions: ['push', 'pull'] }, granted: ['pull'] },
  { title: 'union across bindings', roles: { p: [pull('**')], w: [{ name: 'team-a/**', actions: ['push'] }] }, bindings: [['alice', 'p'], ['alice', 'w']], request: { Actions: ['push', 'pull'] }, granted: ['pull', 'push'] },
  { title: 'union across exact and glob bindings', roles: { p: [pull('**')], w: [{ actions: ['push'] }] }, bindings: [['alice', 'p'], ['al*', 'w']], request: { Actions: ['push', 'pull'] }, granted: ['pull', 'push'] },
  { title: 'union across permissions of one role', roles: { r: [pull('**'), { name: 'team-a/*', actions: ['delete'] }] }, bindings: [['alice', 'r']], request: { Actions: ['delete', 'pull', 'push'] }, granted: ['delete', 'pull'] },
  { title: 'all fields ANDed', roles: { r: [{ name: 'team-a/**', service: 'registry', ip: '127.0.0.0/8', actions: ['pull'] }] }, bindings: [['alice', 'r']], request: { IP: '10.0.0.1' }, granted: [] },
  { title: 'no bindings, nothing granted', roles: { r: [pull('**')] }, bindings: [], request: {}, granted: [] },
  { title: 'SQL-looking account is just a name', roles: { r: [pull('**')] }, bindings: [["x' OR '1'='1", 'r']], request: { Account: 'alice' }, granted: [] },
  { title: 'unicode names', roles: { r: [pull('équipe/**')] }, bindings: [['josé', 'r']], request: { Account: 'josé', Name: 'équipe/app' }, granted: ['pull'] },
];

for (const engine of ENGINES) describe(`decision semantics (${engine})`, () => {
  let h: Harness;
  beforeEach(async () => {
    h = await harness(engine);
  });
  afterEach(() => h.close());

  for (const c of CASES) {
    it(c.title, async () => {
      for (const [name, perms] of Object.entries(c.roles)) await role(h.store, name, ...perms);
      for (const [account, r, ns] of c.bindings) await bind(h.store, account, r, ns);
      const out = await h.store.decide(req(c.request));
      assert.deepEqual(out.actions, c.granted);
      const requested = [...new Set(req(c.request).Actions)];
      assert.equal(out.allowed, c.granted.length === requested.length);
    });
  }

  it('order of bindings never changes the result', async () => {
    await role(h.store, 'p', pull('**'));
    await role(h.store, 'w', { name: 'team-a/**', actions: ['push'] });
    await bind(h.store, 'bob', 'w');
    await bind(h.store, 'bob', 'p');
    await bind(h.store, 'carol', 'p');
    await bind(h.store, 'carol', 'w');
    const r = (a: string) => h.store.decide(req({ Account: a, Actions: ['push', 'pull'] }));
    assert.deepEqual(await r('bob'), await r('carol'));
    assert.deepEqual((await r('bob')).actions, ['pull', 'push']);
  });

  it('role replaced → decisions use the new permissions at once', async () => {
    await role(h.store, 'r', pull('**'));
    await bind(h.store, 'alice', 'r');
    assert.equal((await h.store.decide(req({}))).allowed, true);
    await role(h.store, 'r', pull('other/**'));
    assert.equal((await h.store.decide(req({}))).allowed, false);
  });

  it('binding removed (exact and glob) → access gone at once', async () => {
    await role(h.store, 'r', pull('**'));
    await bind(h.store, 'al*', 'r');
    assert.equal((await h.store.decide(req({}))).allowed, true);
    await h.store.deleteBinding({ account_name: 'al*', role_name: 'r' });
    assert.equal((await h.store.decide(req({}))).allowed, false);
    await bind(h.store, 'alice', 'r');
    assert.equal((await h.store.decide(req({}))).allowed, true);
    await h.store.deleteBinding({ account_name: 'alice', role_name: 'r' });
    assert.equal((await h.store.decide(req({}))).allowed, false);
    await bind(h.store, 'alice', 'r');
    assert.equal((await h.store.decide(req({}))).allowed, true);
    await h.store.deleteRole('r', true);
    assert.equal((await h.store.decide(req({}))).allowed, false);
  });

  it('a binding added after a denied decision takes effect at once (no stale cache)', async () => {
    await role(h.store, 'r', pull('**'));
    assert.equal((await h.store.decide(req({ Account: '' }))).allowed, false);
    assert.equal((await h.store.decide(req({}))).allowed, false);
    await bind(h.store, '<anonymous>', 'r');
    await bind(h.store, 'alice', 'r');
    assert.equal((await h.store.decide(req({ Account: '' }))).allowed, true);
    assert.equal((await h.store.decide(req({}))).allowed, true);
  });

  it('HTTP /authorized: 200 when all granted, 403 with the sorted granted subset otherwise', async () => {
    await role(h.store, 'r', { name: 'team-a/**', actions: ['push', 'pull'] });
    await bind(h.store, 'alice', 'r');
    const ok = await request(h.app).post('/authorized').set(client).send(req({ Actions: ['push', 'pull'] }));
    assert.equal(ok.status, 200);
    assert.deepEqual(ok.body, { allowed: true, actions: ['pull', 'push'] });
    const partial = await request(h.app).post('/authorized').set(client).send(req({ Actions: ['push', 'delete', 'pull'] }));
    assert.equal(partial.status, 403);
    assert.deepEqual(partial.body, { allowed: false, actions: ['pull', 'push'] });
    const none = await request(h.app).post('/authorized').set(client).send(req({ Name: 'team-b/app' }));
    assert.equal(none.status, 403);
    assert.deepEqual(none.body, { allowed: false, actions: [] });
  });

  it('empty Actions is not an allow (nothing to grant)', async () => {
    await role(h.store, 'r', { actions: ['*'] });
    await bind(h.store, 'alice', 'r');
    const res = await request(h.app).post('/authorized').set(client).send(req({ Actions: [] }));
    assert.equal(res.status, 403);
    assert.deepEqual(res.body, { allowed: false, actions: [] });
  });
});
