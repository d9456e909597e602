/**
 * `/explain` is the decision of `/authorized`, traced — one pass of the same code (policy/decide.ts,
 * robots/decide.ts) — so over a matrix of requests (types, services, names, addresses, labels,
 * `${namespace}`, pattern bindings, anonymous, robots active, expired and outside their namespace) both answer
 * the same; every granted action names a grant, an allowed request has no misses and a denial of everything says why; an API token's explain keeps
 * the whole decision but shows only its namespaces' bindings.
 */
import assert from 'node:assert/strict';
import request from 'supertest';
import { ROBOT_CREDENTIAL_LABEL, ROBOT_CREDENTIAL_VALUE } from '../../common/robots.js';
import type { AuthorizedRequest } from '../../common/authorized.js';
import { admin, client, ENGINES, harness, req, type Harness } from './helpers.js';

const robotLabel = { [ROBOT_CREDENTIAL_LABEL]: [ROBOT_CREDENTIAL_VALUE] };

function matrix(): AuthorizedRequest[] {
  const out: AuthorizedRequest[] = [];
  const accounts = ['alice', 'ci-7', 'bob', '', 'robot:team-a+ci', 'robot:team-a+old', 'robot:team-b+none'];
  const names = ['team-a/app', 'team-b/app', 'shared/base', 'other'];
  const actionSets = [['pull'], ['push'], ['pull', 'push'], ['delete'], ['*']];
  for (const Account of accounts)
    for (const Name of names)
      for (const Actions of actionSets)
        for (const [IP, Labels] of [['10.1.2.3', { team: ['a'] }], ['192.0.2.7', null]] as Array<[string, Record<string, string[]> | null]>)
          out.push(req({ Account, Name, Actions, IP, Labels: Account.startsWith('robot:') ? robotLabel : Labels }));
  out.push(req({ Type: 'registry', Name: 'catalog', Actions: ['*'] }), req({ Service: 'other', Actions: ['pull'] }));
  return out;
}

for (const engine of ENGINES) describe(`/explain agrees with /authorized (${engine})`, () => {
  let h: Harness;
  let now: Date;
  before(async () => {
    now = new Date('2026-03-01T00:00:00Z');
    h = await harness(engine, () => now);
    const put = (name: string, permissions: object[]) => request(h.app).post('/add-role').set(admin).send({ name, permissions }).expect(201);
    const bind = (account_name: string, role_name: string, namespace?: string) =>
      request(h.app).post('/add-role-binding').set(admin).send({ account_name, role_name, ...(namespace ? { namespace } : {}) }).expect(201);
    await put('ns-rw', [{ name: '${namespace}/**', actions: ['pull', 'push'] }]);
    await put('shared-read', [{ name: 'shared/**', actions: ['pull'], ip: '10.0.0.0/8' }]);
    await put('labelled', [{ name: 'team-${labels:team}/**', actions: ['delete'] }]);
    await put('catalog', [{ request_type: 'registry', name: 'catalog', actions: ['*'] }, { name: '**', service: 'registry', actions: ['pull'], labels: { team: 'a' } }]);
    await bind('alice', 'ns-rw', 'team-a');
    await bind('alice', 'shared-read');
    await bind('alice', 'labelled');
    await bind('ci-*', 'ns-rw', 'team-b');
    await bind('<anonymous>', 'shared-read');
    await bind('alice', 'catalog');
    await request(h.app).post('/robots').set(admin).send({ namespace: 'team-a', name: 'ci', actions: ['pull'] }).expect(201);
    await request(h.app).post('/robots').set(admin).send({ namespace: 'team-a', name: 'old', actions: ['pull', 'push'], ttl: '1h' }).expect(201);
    now = new Date('2026-03-01T02:00:00Z'); // robot "old" has expired
  });
  after(() => h.close());

  it('the same decision for every request of the matrix; grants and reasons follow it', async () => {
    let allowed = 0;
    for (const r of matrix()) {
      const decided = (await request(h.app).post('/authorized').set(client).send(r)).body as { allowed: boolean; actions: string[] };
      const exRes = await request(h.app).post('/explain').set(admin).send(r);
      assert.equal(exRes.status, 200, JSON.stringify([r, exRes.body]));
      const ex = exRes.body;
      const what = JSON.stringify(r);
      assert.deepEqual({ allowed: ex.allowed, actions: ex.actions }, decided, what);
      assert.deepEqual(ex.per_action.filter((x: { granted: boolean }) => x.granted).map((x: { action: string }) => x.action), decided.actions, what);
      if (!r.Account.startsWith('robot:')) for (const x of ex.per_action) assert.equal(x.granted_by.length > 0, x.granted, `${what} ${x.action}`);
      if (decided.allowed) assert.deepEqual(ex.misses, [], what);
      else if (decided.actions.length === 0) assert.ok(ex.misses.length > 0, `${what}: a denial says why`);
      if (decided.allowed) allowed++;
    }
    assert.ok(allowed > 10, `the matrix has allowed requests too (${allowed})`);
  });

  it("an API token's explain: the whole decision, only its namespaces' bindings shown, the rest counted", async () => {
    const token = (await request(h.app).post('/tokens').set(admin).send({ name: 'viewer', namespaces: ['team-a'], abilities: ['read'] }).expect(201)).body.token as string;
    const r = req({ Account: 'alice', Name: 'team-a/app', Actions: ['pull', 'push', 'delete'], Labels: { team: ['a'] } });
    const full = (await request(h.app).post('/explain').set(admin).send(r).expect(200)).body;
    const scoped = (await request(h.app).post('/explain').set({ Authorization: `Bearer ${token}` }).send(r).expect(200)).body;
    assert.deepEqual({ allowed: scoped.allowed, actions: scoped.actions }, { allowed: full.allowed, actions: full.actions });
    assert.deepEqual({ allowed: full.allowed, actions: full.actions }, { allowed: true, actions: ['delete', 'pull', 'push'] });
    assert.equal(full.bindings_considered, 4);
    assert.equal(scoped.bindings_considered, 1);
    assert.equal(scoped.hidden_bindings, 3);
    const shownNs = new Set(scoped.per_action.flatMap((x: { granted_by: Array<{ binding: { namespace: string | null } }> }) => x.granted_by.map((g) => g.binding.namespace)));
    assert.deepEqual([...shownNs], ['team-a']);
    // delete is granted by a binding without namespace: granted, but by nothing the token may see.
    assert.deepEqual(scoped.per_action.find((x: { action: string }) => x.action === 'delete'), { action: 'delete', granted: true, granted_by: [] });
  });
});
