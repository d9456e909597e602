/** Export from one engine, import into the other (and back): GET /export is identical on both, robots included. */
import assert from 'node:assert/strict';
import request from 'supertest';
import { admin, client, harness, type Harness } from './helpers.js';

const exported = async (h: Harness) => {
  const res = await request(h.app).get('/export').set(admin);
  assert.equal(res.status, 200);
  const { exported_at: _, ...rest } = res.body as { exported_at: string };
  return rest;
};

describe('export/import across SQLite and PostgreSQL', () => {
  const open: Harness[] = [];
  const fresh = async (engine: 'sqlite' | 'postgres') => {
    const h = await harness(engine);
    open.push(h);
    return h;
  };
  after(async () => {
    for (const h of open) await h.close();
  });

  it('SQLite → PostgreSQL → SQLite: the same roles, bindings, robots, order and decisions', async () => {
    const src = await fresh('sqlite');
    const api = () => request(src.app);
    // Names chosen to differ in byte order vs. locale order (case, accents, punctuation).
    for (const name of ['zeta', 'Alpha', 'équipe', 'b_r', 'b-r', 'ns-puller']) {
      await api().post('/add-role').set(admin).send({ name, permissions: [{ name: '${namespace}/**', actions: ['pull'] }, { labels: { team: 'x' }, actions: ['*'] }] }).expect(201);
    }
    const bindings = [
      { account_name: 'alice', role_name: 'zeta' },
      { account_name: 'Bob', role_name: 'Alpha', namespace: 'team-a' },
      { account_name: 'system:serviceaccount:ci:*', role_name: 'ns-puller', namespace: 'ci' },
      { account_name: '<anonymous>', role_name: 'b-r', namespace: 'public' },
      { account_name: 'josé', role_name: 'équipe', namespace: 'équipe' },
      ...Array.from({ length: 300 }, (_, i) => ({ account_name: `user-${i}`, role_name: i % 2 ? 'b_r' : 'zeta', namespace: `ns-${i % 17}` })),
    ];
    for (const b of bindings) await api().post('/add-role-binding').set(admin).send(b).expect(201);
    const secrets: Record<string, string> = {};
    for (const [ns, name] of [['team-a', 'ci'], ['team-b', 'deploy'], ['ci', 'z']]) {
      secrets[`robot:${ns}+${name}`] = (await api().post('/robots').set(admin).send({ namespace: ns, name, actions: ['pull', 'push'], ttl: '30d' }).expect(201)).body.secret;
    }
    await api().post('/robots/robot:team-b+deploy/rotate').set(admin).send({ overlap: '1h' }).expect(200);
    const want = await exported(src);
    assert.equal((want as { robots: { accounts: unknown[] } }).robots.accounts.length, 3);

    const pg = await fresh('postgres');
    const file = (await api().get('/export').set(admin)).body as object;
    await request(pg.app).post('/import').set(admin).send(file).expect(200);
    assert.deepEqual(await exported(pg), want);

    const back = await fresh('sqlite');
    await request(back.app).post('/import').set(admin).send((await request(pg.app).get('/export').set(admin)).body).expect(200);
    assert.deepEqual(await exported(back), want);

    for (const h of [src, pg, back]) {
      const d = await request(h.app).post('/explain').set(admin).send({ Account: 'system:serviceaccount:ci:builder', Type: 'repository', Name: 'ci/app', Service: 'registry', IP: '127.0.0.1', Actions: ['pull'], Labels: null });
      assert.equal(d.body.allowed, true, `${h.engine}`);
      // Robots keep logging in with the secrets they already have (team-b+deploy's is the pre-rotation one, within its overlap).
      for (const [account, secret] of Object.entries(secrets)) {
        assert.equal((await request(h.app).post('/robots/verify').set(client).send({ account, secret })).body.valid, true, `${h.engine} ${account}`);
      }
    }
  });
});
