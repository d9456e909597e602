/**
 * Names at authz-server: `/authorized` refuses what is not a name (distribution's repository grammar,
 * control characters, lone surrogates, invalid UTF-8, non-NFC) with 400 naming the field — other
 * clients than authn (the docker_auth bridge) send whatever they got — and the admin API refuses
 * account, role and namespace names that are not NFC.
 */
import assert from 'node:assert/strict';
import request from 'supertest';
import { admin, client, ENGINES, harness, req, type Harness } from './helpers.js';

for (const engine of ENGINES) describe(`names at /authorized and the admin API (${engine})`, () => {
  let h: Harness;
  beforeEach(async () => {
    h = await harness(engine);
    await h.store.putRole('all', [{ name: '**', actions: ['pull'] }]);
    await h.store.addBinding({ account_name: 'alice', role_name: 'all' });
  });
  afterEach(() => h.close());

  const ask = (over: Parameters<typeof req>[0]) => request(h.app).post('/authorized').set(client).send(req(over));

  const BAD_REPOSITORIES: Array<[string, string]> = [
    ['NUL', 'team-a/app\u0000x'],
    ['newline', 'team-a/app\n'],
    ['DEL', 'team-a/\u007fapp'],
    ['lone high surrogate', 'team-a/\ud800'],
    ['lone low surrogate', '\udc00/app'],
    ['..', 'team-a/../team-b/app'],
    ['.. as a whole component', '..'],
    ['empty segment', 'team-a//app'],
    ['leading /', '/team-a/app'],
    ['trailing /', 'team-a/app/'],
    ['uppercase path', 'team-a/App'],
    ['wildcard', 'team-a/*'],
    ['space', 'team a/app'],
    ['non-ASCII (NFC)', 'team-a/caf\u00e9'],
    ['non-NFC', 'team-a/cafe\u0301'],
    ['U+FFFD (what invalid UTF-8 decodes to)', 'team-a/\ufffd'],
    ['longer than 255', `a/${'b'.repeat(254)}`],
  ];
  for (const [what, Name] of BAD_REPOSITORIES) {
    it(`repository name with ${what} → 400 naming Name`, async () => {
      const res = await ask({ Name });
      assert.equal(res.status, 400, JSON.stringify(res.body));
      assert.equal(res.body.error.field, 'Name');
    });
  }

  it('well-formed names still get their decision (with host:port, separators, empty for zot)', async () => {
    for (const Name of ['team-a/app', 'a.b/c__d/e---f', 'localhost:5000/app', '[::1]:5000/app', '', 'x'.repeat(255)]) {
      const res = await ask({ Name });
      assert.equal(res.status, 200, `${Name}: ${JSON.stringify(res.body)}`);
    }
  });

  it('other resource types: control characters, lone surrogates and non-NFC are refused; other names are decided', async () => {
    for (const Name of ['cat\u0000alog', 'cat\ud800', 'cafe\u0301']) {
      const res = await ask({ Type: 'registry', Name });
      assert.equal(res.status, 400, Name);
      assert.equal(res.body.error.field, 'Name');
    }
    assert.equal((await ask({ Type: 'registry', Name: 'catalog' })).status, 403, 'a valid name is decided (denied here)');
  });

  it('Account with a control character or a lone surrogate → 400 naming Account', async () => {
    for (const Account of ['ali\u0000ce', 'alice\ud800']) {
      const res = await ask({ Account });
      assert.equal(res.status, 400);
      assert.equal(res.body.error.field, 'Account');
    }
  });

  it('a body that is not valid UTF-8 → 400 naming the body (not a silent U+FFFD)', async () => {
    const json = Buffer.from(JSON.stringify(req({ Name: 'team-a/XX' })));
    const at = json.indexOf('XX');
    json[at] = 0xc3; // a lead byte followed by "X": invalid UTF-8
    const res = await request(h.app).post('/authorized').set(client).set('Content-Type', 'application/octet-stream').send(json);
    assert.equal(res.status, 400);
    assert.equal(res.body.error.field, 'body');
    assert.match(res.body.error.message, /UTF-8/);
  });

  it('admin API: role, account and namespace names that are not NFC → 400; their NFC forms are accepted', async () => {
    const decomposed = 'jose\u0301';
    const composed = decomposed.normalize('NFC');
    const role = await request(h.app).post('/add-role').set(admin).send({ name: decomposed, permissions: { actions: ['pull'] } });
    assert.equal(role.status, 400);
    assert.equal(role.body.error.field, 'name');
    assert.match(role.body.error.message, /NFC/);
    for (const body of [{ account_name: decomposed, role_name: 'all' }, { account_name: 'bob', role_name: 'all', namespace: decomposed }]) {
      const res = await request(h.app).post('/add-role-binding').set(admin).send(body);
      assert.equal(res.status, 400, JSON.stringify(body));
      assert.match(res.body.error.message, /NFC/);
    }
    assert.equal((await request(h.app).post('/add-role').set(admin).send({ name: composed, permissions: { actions: ['pull'] } })).status, 201);
    assert.equal((await request(h.app).post('/add-role-binding').set(admin).send({ account_name: composed, role_name: composed })).status, 201);
  });
});
