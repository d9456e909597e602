/**
 * Creating a role that must not exist (`If-None-Match: *`, the console's New role) on both engines: the
 * database's unique name decides, so of several concurrent creates of one name exactly one is 201 and
 * the others are 409 naming the role — never two "created" with the later one silently replacing the first.
 */
import assert from 'node:assert/strict';
import request from 'supertest';
import { admin, ENGINES, harness, type Harness } from './helpers.js';

const CONCURRENT = 8;

for (const engine of ENGINES) describe(`create-only role writes (${engine})`, () => {
  let h: Harness;
  beforeEach(async () => (h = await harness(engine)));
  afterEach(() => h.close());

  for (const [route, send] of [
    ['POST /add-role', (i: number) => request(h.app).post('/add-role').set(admin).set('If-None-Match', '*').send({ name: 'builders', permissions: [{ name: `team-${i}/**`, actions: ['pull'] }] })],
    ['PUT /roles/{name}', (i: number) => request(h.app).put('/roles/builders').set(admin).set('If-None-Match', '*').send({ permissions: [{ name: `team-${i}/**`, actions: ['pull'] }] })],
  ] as const) {
    it(`${route}: ${CONCURRENT} concurrent creates of one name → one 201, the rest 409 naming it; the winner's permissions are stored`, async () => {
      const head = (await h.store.engine.feedInfo()).head;
      const res = await Promise.all(Array.from({ length: CONCURRENT }, (_, i) => send(i)));
      const won = res.map((r, i) => [r.status, i] as const).filter(([s]) => s === 201);
      assert.equal(won.length, 1, `statuses ${res.map((r) => r.status).join(',')}`);
      for (const r of res.filter((x) => x.status !== 201)) {
        assert.equal(r.status, 409, JSON.stringify(r.body));
        assert.equal(r.body.error.field, 'name');
        assert.match(r.body.error.message, /role "builders" already exists/);
      }
      const stored = (await request(h.app).get('/roles/builders').set(admin).expect(200)).body;
      assert.deepEqual(stored.permissions, [{ name: `team-${won[0]![1]}/**`, actions: ['pull'] }]);
      assert.equal((await h.store.engine.feedInfo()).head, head + 1, 'one change-log revision: the refused creates wrote nothing');
    });
  }

  it('a create-only write over an existing role is 409 and leaves it as it was; without the header it replaces', async () => {
    await request(h.app).post('/add-role').set(admin).send({ name: 'r', permissions: [{ name: 'a/**', actions: ['pull'] }] }).expect(201);
    const r = await request(h.app).put('/roles/r').set(admin).set('If-None-Match', '*').send({ permissions: [{ name: '**', actions: ['*'] }] }).expect(409);
    assert.equal(r.body.error.field, 'name');
    assert.deepEqual((await request(h.app).get('/roles/r').set(admin)).body.permissions, [{ name: 'a/**', actions: ['pull'] }]);
    await request(h.app).put('/roles/r').set(admin).send({ permissions: [{ name: 'b/**', actions: ['pull'] }] }).expect(200);
    assert.deepEqual((await request(h.app).get('/roles/r').set(admin)).body.permissions, [{ name: 'b/**', actions: ['pull'] }]);
  });
});
