/**
 * What the controller costs the API server and authz, counted as a platform team would count it (SIMULATED
 * Kubernetes API server, real authz): its calls ride kept-alive connections instead of a TCP (and TLS)
 * handshake each; a resync of credentials that need nothing writes nothing (reads: the CR, its Secret,
 * each listed service account once, its one robot by account — never the namespace's robot list); a rotation is exactly one Secret update,
 * one status write, one Event and one authz rotate.
 */
import assert from 'node:assert/strict';
import { microTime } from '../src/decide/schedule.js';
import { KubeClient, paths } from '../src/kube/client.js';
import { World, waitFor } from './helpers.js';

describe('controller: the API calls it makes (SIMULATED Kubernetes API, real authz)', function () {
  this.timeout(60_000);
  const w = new World();
  before(async () => {
    await w.start();
    for (const ns of ['calls-a', 'calls-b', 'calls-c']) w.serviceAccount(ns, 'default');
  });
  after(() => w.stop());

  it('SIMULATED: one client sends 20 calls over one kept-alive connection', async () => {
    const kube = new KubeClient({ baseUrl: new URL(w.sim.url) });
    const before = w.sim.connections;
    for (let i = 0; i < 20; i++) assert.equal((await kube.get(paths.secret('calls-a', 'none'))).status, 404);
    assert.equal(w.sim.connections - before, 1);
    kube.close();
  });

  it('SIMULATED: a controller making 5 credentials opens a handful of connections, not one per call', async () => {
    const before = { connections: w.sim.connections, requests: w.sim.requests.length };
    const c = w.controller({ workers: 4 });
    c.start();
    for (let i = 0; i < 5; i++) w.credential('calls-a', `ka-${i}`, { type: 'Robot', serviceAccounts: ['default'] });
    await waitFor('all Ready', () => Array.from({ length: 5 }, (_, i) => w.ready('calls-a', `ka-${i}`)?.status === 'True').every(Boolean), 20_000);
    await c.close();
    const calls = w.sim.requests.length - before.requests;
    const opened = w.sim.connections - before.connections;
    assert.ok(calls >= 40, `${calls} calls`);
    assert.ok(opened <= 12, `${opened} connections for ${calls} calls (4 workers, the watch, Events in flight)`);
  });

  /** Requests after `mark` whose path is in namespace `ns`: kube `[method, path]` and authz `[method, path]`. */
  const since = (mark: { kube: number; authz: number }, ns: string) => ({
    kube: w.sim.requests.slice(mark.kube).filter((r) => r.pathname.includes(`/namespaces/${ns}/`)).map((r) => [r.method, r.pathname] as const),
    authz: w.authzRequests.slice(mark.authz).filter((r) => decodeURIComponent(r.path).includes(`robot:${ns}+`) || r.path.includes(`namespace=${ns}`)).map((r) => [r.method, decodeURIComponent(r.path)] as const),
  });
  const count = (calls: ReadonlyArray<readonly [string, string]>, method: string, path: string) => calls.filter(([m, p]) => m === method && p === path).length;
  const settle = async (c: { queue: { size: number } }) => {
    let seen = -1;
    await waitFor('queue idle and no call for 300 ms', async () => {
      const n = w.sim.requests.length + w.authzRequests.length;
      const quiet = c.queue.size === 0 && n === seen;
      seen = n;
      await new Promise((r) => setTimeout(r, 300));
      return quiet;
    }, 10_000);
  };

  it('SIMULATED: a resync of 4 settled Robot credentials writes nothing; each reconcile reads its CR, its Secret, its service account once and its one robot by account (no robot list); a due rotation is one Secret PUT, one status write, one Event, one authz rotate', async () => {
    const N = 4;
    const c = w.controller({ resync: '10s' });
    c.start();
    for (let i = 0; i < N; i++) w.credential('calls-a', `steady-${i}`, { type: 'Robot', rotateEvery: '1h', serviceAccounts: ['default'] });
    w.credential('calls-b', 'rot', { type: 'Robot', rotateEvery: '10s', overlap: '4s', serviceAccounts: ['default'] });
    await waitFor('all Ready', () => [...Array.from({ length: N }, (_, i) => w.ready('calls-a', `steady-${i}`)), w.ready('calls-b', 'rot')].every((x) => x?.status === 'True'), 20_000);
    await settle(c);
    const mark = { kube: w.sim.requests.length, authz: w.authzRequests.length };
    const first = w.secret('calls-b', 'rot-registry')!;
    const done = c.queue.done;
    // The resync (every 10 s) reconciles all five; the rotation falls due 10 s after creation.
    await waitFor('resync and rotation', () => c.queue.done >= done + N + 1 && w.secret('calls-b', 'rot-registry')?.password !== first.password, 20_000);
    await settle(c);

    const steady = since(mark, 'calls-a');
    assert.deepEqual(steady.kube.filter(([m]) => m !== 'GET'), [], 'a resync of settled credentials writes nothing to the API server');
    assert.deepEqual(steady.authz.filter(([m]) => m !== 'GET'), [], 'nor to authz');
    assert.equal(count(steady.authz, 'GET', '/robots?namespace=calls-a'), 0, 'no robot list');
    for (let i = 0; i < N; i++) {
      const reconciles = count(steady.kube, 'GET', `/apis/registry.tollgate.dev/v1alpha1/namespaces/calls-a/registrycredentials/steady-${i}`);
      assert.ok(reconciles >= 1, `steady-${i} was resynced`);
      assert.equal(count(steady.kube, 'GET', `/api/v1/namespaces/calls-a/secrets/steady-${i}-registry`), reconciles, `one Secret read per reconcile of steady-${i}`);
      assert.equal(count(steady.authz, 'GET', `/robots/robot:calls-a+steady-${i}`), reconciles, `one robot read per reconcile of steady-${i}`);
    }
    const reconciles = steady.kube.filter(([, p]) => p.includes('/registrycredentials/')).length;
    assert.equal(count(steady.kube, 'GET', '/api/v1/namespaces/calls-a/serviceaccounts/default'), reconciles, 'one read of the listed service account per reconcile');
    assert.ok(steady.kube.every(([, p]) => /\/(registrycredentials\/(steady|ka)-\d|secrets\/(steady|ka)-\d-registry|serviceaccounts\/default)$/.test(p)), JSON.stringify(steady.kube));

    const rot = since(mark, 'calls-b');
    const writes = rot.kube.filter(([m]) => m !== 'GET');
    assert.deepEqual(writes.sort(), [
      ['PATCH', '/apis/registry.tollgate.dev/v1alpha1/namespaces/calls-b/registrycredentials/rot/status'],
      ['POST', '/apis/events.k8s.io/v1/namespaces/calls-b/events'],
      ['PUT', '/api/v1/namespaces/calls-b/secrets/rot-registry'],
    ], 'a rotation: the Secret updated in place once, status once, one Rotated Event');
    assert.deepEqual(rot.authz.filter(([m]) => m !== 'GET'), [['POST', '/robots/robot:calls-b+rot/rotate']], 'one authz rotate, no create or delete');
    assert.equal(w.events('calls-b').filter((e) => e.reason === 'Rotated').length, 1);
    await c.close();
  });

  it('SIMULATED: a spec change costs one reconcile — one read each of CR, service account, Secret and robot, one status write — and the controller\'s own status write starts no second one', async () => {
    const c = w.controller();
    c.start();
    w.credential('calls-c', 'edit', { type: 'Robot', rotateEvery: '1h', serviceAccounts: ['default'] });
    await waitFor('Ready', () => w.ready('calls-c', 'edit')?.status === 'True', 10_000);
    await settle(c);
    const mark = { kube: w.sim.requests.length, authz: w.authzRequests.length };
    const cr = w.sim.store.get('registrycredentials', 'calls-c', 'edit')!;
    w.sim.store.update('registrycredentials', 'calls-c', 'edit', { ...cr, spec: { ...(cr.spec as object), rotateEvery: '2h' } }, { status: false, patch: false });
    await waitFor('generation 2 observed', () => w.cr('calls-c', 'edit')?.status?.observedGeneration === 2, 10_000);
    await settle(c);
    const calls = since(mark, 'calls-c');
    const edit = calls.kube.filter(([, p]) => !p.includes('/registrycredentials/') || p.includes('/registrycredentials/edit'));
    assert.deepEqual(edit.sort(), [
      ['GET', '/api/v1/namespaces/calls-c/secrets/edit-registry'],
      ['GET', '/api/v1/namespaces/calls-c/serviceaccounts/default'],
      ['GET', '/apis/registry.tollgate.dev/v1alpha1/namespaces/calls-c/registrycredentials/edit'],
      ['PATCH', '/apis/registry.tollgate.dev/v1alpha1/namespaces/calls-c/registrycredentials/edit/status'],
    ]);
    assert.deepEqual(calls.authz.filter(([, p]) => p.includes('+edit')), [['GET', '/robots/robot:calls-c+edit']]);
    await c.close();
  });

  it('SIMULATED: a leader renews its Lease with one PUT per renew and no GET, and releases it on close with one PUT; when someone else writes the Lease, the 409 makes it re-read and step down', async () => {
    const c = w.controller({ identity: 'renewer' }, true);
    c.start();
    await waitFor('leader', () => c.leader!.isLeader());
    const leaseCalls = (from: number) => w.sim.requests.slice(from).filter((r) => r.pathname.includes('/leases')).map((r) => r.method);
    const mark = w.sim.requests.length;
    const renewTime = () => (w.sim.store.get('leases', 'tollgate', 'tollgate-controller')!.spec as { renewTime: string }).renewTime;
    let seen = renewTime();
    for (let i = 0; i < 3; i++) {
      seen = await waitFor(`renew ${i + 1}`, () => (renewTime() !== seen ? renewTime() : undefined));
    }
    const steady = leaseCalls(mark);
    assert.ok(steady.length >= 3, `${steady.length} Lease calls`);
    assert.deepEqual(steady.filter((m) => m !== 'PUT'), [], 'renewing is one PUT, no read');
    // Shutdown hands the held Lease back with one PUT (no read first); a follower can take it at once.
    const closing = w.sim.requests.length;
    await c.close();
    assert.deepEqual(leaseCalls(closing), ['PUT'], 'releasing is one PUT');
    assert.equal((w.sim.store.get('leases', 'tollgate', 'tollgate-controller')!.spec as { holderIdentity: string }).holderIdentity, '');
    const c2 = w.controller({ identity: 'renewer' }, true);
    c2.start();
    await waitFor('leader again', () => c2.leader!.isLeader());

    // Another replica took the Lease (as after this one's lease ran out): the next renew meets 409.
    const lease = w.sim.store.get('leases', 'tollgate', 'tollgate-controller')!;
    const theirs = { ...(lease.spec as object), holderIdentity: 'usurper', renewTime: microTime(Date.now() + 60_000), leaseDurationSeconds: 60 };
    const before = w.sim.requests.length;
    w.sim.store.update('leases', 'tollgate', 'tollgate-controller', { ...lease, spec: theirs }, { status: false, patch: false });
    await waitFor('steps down', () => !c2.leader!.isLeader());
    assert.deepEqual(leaseCalls(before).slice(0, 2), ['PUT', 'GET'], 'the refused renew, then a fresh read');
    assert.equal((w.sim.store.get('leases', 'tollgate', 'tollgate-controller')!.spec as { holderIdentity: string }).holderIdentity, 'usurper', 'their Lease is not overwritten');
    await c2.close();
    assert.equal((w.sim.store.get('leases', 'tollgate', 'tollgate-controller')!.spec as { holderIdentity: string }).holderIdentity, 'usurper', 'a follower\'s close releases nothing');
    w.sim.store.remove('leases', 'tollgate', 'tollgate-controller');
  });
});
