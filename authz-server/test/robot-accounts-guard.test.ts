/**
 * The authz side of "one owner per account name" and two lows of the review, on both engines:
 * a `robot:` account is decided from the robot table only when authn labelled the request as a
 * verified robot login (`/authorized` — fast path and express — and `/explain` agree, with and without
 * the label); a role binding to a `robot:` account is refused (REST and import); an import cannot give a
 * previous robot secret more than the API's 30-day overlap; request logs carry no query string.
 */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import request from 'supertest';
import { createLogger } from '../../common/logger.js';
import { createApp } from '../src/app.js';
import { admin, ADMIN, client, CLIENT, ENGINES, harness, req, type Harness } from './helpers.js';

const LABEL = { credential: ['robot'] };

for (const engine of ENGINES) describe(`robot accounts: label, bindings, import overlap (${engine})`, () => {
  let h: Harness;
  beforeEach(async () => {
    h = await harness(engine, () => new Date('2026-03-01T00:00:00Z'));
    await request(h.app).post('/robots').set(admin).send({ namespace: 'team-a', name: 'ci', actions: ['pull'] }).expect(201);
    await request(h.app).post('/add-role').set(admin).send({ name: 'all', permissions: [{ name: '**', actions: ['*'] }] }).expect(201);
  });
  afterEach(() => h.close());

  const ask = (app: Parameters<typeof request>[0], over: Parameters<typeof req>[0]) => request(app).post('/authorized').set(client).send(req({ Account: 'robot:team-a+ci', Name: 'team-a/app', ...over }));

  it('a robot: account is decided from the robot table only with the robot credential label; /explain agrees', async () => {
    for (const app of [h.app, h.app.express]) {
      assert.deepEqual((await ask(app, { Labels: LABEL })).body, { allowed: true, actions: ['pull'] });
      const others: Array<Record<string, string[]> | null> = [null, {}, { credential: ['k8s-secret'] }, { namespace: ['team-a'] }];
      for (const Labels of others) {
        const res = await ask(app, { Labels });
        assert.equal(res.status, 403, JSON.stringify(Labels));
        assert.deepEqual(res.body, { allowed: false, actions: [] });
      }
    }
    // A catch-all pattern binding does not reach a robot: account either way.
    await request(h.app).post('/add-role-binding').set(admin).send({ account_name: '*', role_name: 'all' }).expect(201);
    assert.deepEqual((await ask(h.app, { Labels: null, Actions: ['pull', 'push'] })).body, { allowed: false, actions: [] });
    const withLabel = (await request(h.app).post('/explain').set(admin).send(req({ Account: 'robot:team-a+ci', Name: 'team-a/app', Labels: LABEL })).expect(200)).body;
    assert.equal(withLabel.allowed, true);
    assert.deepEqual(withLabel.actions, ['pull']);
    const without = (await request(h.app).post('/explain').set(admin).send(req({ Account: 'robot:team-a+ci', Name: 'team-a/app', Labels: null })).expect(200)).body;
    assert.equal(without.allowed, false);
    assert.deepEqual(without.actions, []);
    assert.match(without.misses.join('\n'), /without the label credential=robot/);
  });

  it('a role binding to a robot: account is refused with 400 (REST and import), nothing written', async () => {
    const res = await request(h.app).post('/add-role-binding').set(admin).send({ account_name: 'robot:team-a+ci', role_name: 'all' });
    assert.equal(res.status, 400);
    assert.equal(res.body.error.field, 'account_name');
    assert.match(res.body.error.message, /robot table/);
    assert.equal((await request(h.app).post('/add-role-binding').set(admin).send({ account_name: 'robot:*', role_name: 'all' })).status, 400);
    const file = (await request(h.app).get('/export').set(admin).expect(200)).body;
    file.bindings = [{ account_name: 'alice', role_name: 'all' }, { account_name: 'robot:team-a+ci', role_name: 'all' }];
    const imp = await request(h.app).post('/import').set(admin).send(file);
    assert.equal(imp.status, 400);
    assert.equal(imp.body.error.field, 'bindings[1].account_name');
    assert.deepEqual((await request(h.app).get('/bindings').set(admin)).body.bindings, []);
  });

  it('import refuses a previous secret valid beyond the 30-day overlap cap, naming the path; nothing written', async () => {
    await request(h.app).post('/robots/robot:team-a+ci/rotate').set(admin).send({ overlap: '30d' }).expect(200);
    const file = (await request(h.app).get('/export').set(admin).expect(200)).body;
    await request(h.app).post('/import').set(admin).send(file).expect(200);
    const acct = file.robots.accounts[0];
    assert.equal(acct.previous_until, '2026-03-31T00:00:00.000Z');
    const before = await h.sql('SELECT * FROM robots');
    for (const [patch, words] of [
      [{ previous_until: '9999-12-31T00:00:00.000Z' }, /more than 30 days after rotated_at/],
      [{ previous_until: '2026-03-31T00:00:01.000Z' }, /more than 30 days/],
      [{ rotated_at: null }, /needs rotated_at/],
      [{ previous_hash: null }, /previous_hash is not/],
    ] as const) {
      const bad = structuredClone(file);
      Object.assign(bad.robots.accounts[0], patch);
      bad.bindings = [{ account_name: 'alice', role_name: 'all' }];
      const res = await request(h.app).post('/import').set(admin).send(bad);
      assert.equal(res.status, 400, JSON.stringify(patch));
      assert.equal(res.body.error.field, 'robots.accounts[0].previous_until');
      assert.match(res.body.error.message, words);
    }
    assert.deepEqual(await h.sql('SELECT * FROM robots'), before, 'robots unchanged');
    assert.deepEqual((await request(h.app).get('/bindings').set(admin)).body.bindings, [], 'bindings unchanged');
  });
});

describe('authz request logs', () => {
  it('never carry a query string (a token in ?access_token= stays out of the log)', async () => {
    const h = await harness('sqlite');
    try {
      let out = '';
      const sink = new Writable({ write: (c: Buffer, _e, cb) => ((out += c.toString()), cb()) });
      const app = createApp({ store: h.store, logger: createLogger({ name: 't', level: 'debug', destination: sink }), tokens: { admin: ADMIN, client: CLIENT } });
      await request(app).get('/roles?access_token=SECRET-IN-QUERY-1&x=1').set(admin).expect(200);
      await request(app).get('/nope?access_token=SECRET-IN-QUERY-2').set(admin).expect(404);
      await request(app).post('/authorized?access_token=SECRET-IN-QUERY-3').set(client).send(req({})).expect(403);
      const lines = out.trim().split('\n').map((l) => JSON.parse(l) as { req?: { url?: string } });
      assert.ok(lines.some((l) => l.req?.url === '/roles'), out);
      assert.ok(lines.some((l) => l.req?.url === '/nope'), out);
      assert.ok(lines.some((l) => l.req?.url === '/authorized'), out);
      assert.doesNotMatch(out, /SECRET-IN-QUERY|access_token/);
    } finally {
      await h.close();
    }
  });
});
