/**
 * `GET /bindings` with a scoped API token, on both engines: the namespace scope is part of the query, so
 * every page holds `limit` rows while more exist and following `next` yields exactly the token's bindings
 * (exact names, `*` and `?` within one segment, `**` across, `*` alone for all; never a binding without
 * namespace) — the same set the token's own checks allow (auth/principal.ts inNamespaces).
 */
import assert from 'node:assert/strict';
import request from 'supertest';
import { inNamespaces, type Principal } from '../src/auth/principal.js';
import { admin, ENGINES, harness, type Harness } from './helpers.js';

const bearer = (t: string) => ({ Authorization: `Bearer ${t}` });
type Row = { id: number; account_name: string; namespace: string | null };

for (const engine of ENGINES) describe(`scoped API token lists bindings by full pages (${engine})`, () => {
  let h: Harness;
  const namespaces = ['other', 'team-a', 'ops-1', 'ops-1/deep', 'team-a2', 'opsx', 'ops-22', 'zzz'];

  before(async () => {
    h = await harness(engine);
    await request(h.app).post('/add-role').set(admin).send({ name: 'r', permissions: [{ name: 'x', actions: ['pull'] }] }).expect(201);
    // Most bindings are outside the scopes below, interleaved with those inside.
    for (let i = 0; i < 40; i++) {
      const namespace = namespaces[i % namespaces.length];
      await request(h.app).post('/add-role-binding').set(admin).send({ account_name: `u${i}`, role_name: 'r', namespace }).expect(201);
      if (i % 8 === 0) await request(h.app).post('/add-role-binding').set(admin).send({ account_name: `g${i}`, role_name: 'r' }).expect(201);
    }
  });
  after(() => h.close());

  async function pages(headers: Record<string, string>, query: string, limit: number): Promise<Row[][]> {
    const out: Row[][] = [];
    let after = 0;
    for (let n = 0; n < 100; n++) {
      const body = (await request(h.app).get(`/bindings?limit=${limit}&after=${after}${query}`).set(headers).expect(200)).body as { bindings: Row[]; next: number | null };
      out.push(body.bindings);
      if (body.next === null) return out;
      after = body.next;
    }
    throw new Error('paging did not end');
  }

  for (const scope of [['team-a'], ['ops-?', 'team-a*'], ['ops-**'], ['*']]) {
    it(`scope ${JSON.stringify(scope)}: full pages, exactly the bindings its namespaces cover`, async () => {
      const token = (await request(h.app).post('/tokens').set(admin).send({ name: `t${scope.join('').replace(/[^a-z0-9-]/g, 'x')}`, namespaces: scope, abilities: ['read'] }).expect(201)).body.token as string;
      const p: Principal = { kind: 'scoped', id: 'x', name: 'x', namespaces: scope, abilities: ['read'] };
      const all = (await pages(admin, '', 1000)).flat();
      const expected = all.filter((b) => inNamespaces(p, b.namespace)).map((b) => b.id);
      assert.ok(expected.length >= 5 && expected.length < all.length, `a scope that selects some bindings (${expected.length} of ${all.length})`);
      for (const limit of [1, 2, 3]) {
        const got = await pages(bearer(token), '', limit);
        // Every page but the last is full; the last is not empty (the cursor stops when nothing is left).
        got.slice(0, -1).forEach((pg, i) => assert.equal(pg.length, limit, `page ${i} of limit ${limit}`));
        assert.ok((got[got.length - 1] ?? []).length > 0, 'no empty last page');
        assert.deepEqual(got.flat().map((b) => b.id), expected, `limit ${limit}`);
      }
    });
  }

  it('the scope combines with the other filters', async () => {
    const token = (await request(h.app).post('/tokens').set(admin).send({ name: 'combo', namespaces: ['team-*'], abilities: ['read'] }).expect(201)).body.token as string;
    const got = (await pages(bearer(token), '&q=u1', 1)).flat();
    assert.deepEqual(got.map((b) => `${b.account_name}@${b.namespace}`), ['u1@team-a', 'u12@team-a2', 'u17@team-a']);
  });
});
