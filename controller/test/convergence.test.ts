/**
 * The controller converges whatever happens around it (SIMULATED Kubernetes API, real authz): rotation on
 * schedule with the old secret valid for the overlap; restarts (no duplicate robot, no rotation lost or
 * repeated); broken watches and 410 Gone; API 500s; authz down; two replicas with one leader at a time;
 * service-account tokens from TokenRequest refreshed before they expire.
 */
import assert from 'node:assert/strict';
import { decodeJwt } from 'jose';
import { World, waitFor, AUDIENCE } from './helpers.js';

describe('controller: convergence (SIMULATED Kubernetes API, real authz)', function () {
  this.timeout(90_000);
  const w = new World();
  before(async () => {
    await w.start({ maxTokenExpirationSeconds: 12 });
    for (const ns of ['team-a', 'team-b']) {
      w.serviceAccount(ns, 'default');
      w.serviceAccount(ns, 'builder');
    }
  });
  after(() => w.stop());

  it('SIMULATED: rotateEvery 10s, overlap 4s — the Secret changes in place, the new secret works at once, the old one during the overlap and not after', async () => {
    const c = w.controller();
    c.start();
    w.credential('team-a', 'rot', { type: 'Robot', rotateEvery: '10s', overlap: '4s' });
    await waitFor('Ready', () => w.ready('team-a', 'rot')?.status === 'True');
    const first = w.secret('team-a', 'rot-registry')!;
    const uid = w.sim.store.get('secrets', 'team-a', 'rot-registry')!.metadata.uid;
    const second = await waitFor('rotation', () => {
      const s = w.secret('team-a', 'rot-registry');
      return s && s.password !== first.password ? s : undefined;
    }, 14_000);
    assert.equal(w.sim.store.get('secrets', 'team-a', 'rot-registry')!.metadata.uid, uid, 'the same Secret, updated in place');
    assert.ok(await w.verify('robot:team-a+rot', second.password), 'new secret works at once');
    assert.ok(await w.verify('robot:team-a+rot', first.password), 'old secret works during the overlap');
    await waitFor('old secret refused after the overlap', async () => !(await w.verify('robot:team-a+rot', first.password)), 6000);
    assert.ok(await w.verify('robot:team-a+rot', second.password));
    await waitFor('Event Rotated', () => w.events('team-a').some((e) => e.reason === 'Rotated' && e.regarding.name === 'rot'));
    await c.close();
  });

  it('SIMULATED: a restart rotates nothing early and misses nothing due: the schedule comes from status', async () => {
    const st = w.cr('team-a', 'rot')!.status!;
    const before = w.secret('team-a', 'rot-registry')!;
    const c = w.controller();
    c.start();
    await waitFor('first reconcile', () => c.queue.done >= 1);
    const due = Date.parse(st.nextRotation);
    if (due - Date.now() > 1500) assert.deepEqual(w.secret('team-a', 'rot-registry'), before, 'not rotated before it is due');
    await waitFor('the due rotation happens after the restart', () => w.secret('team-a', 'rot-registry')?.password !== before.password, 14_000);
    assert.equal((await w.robots('team-a')).length, 1, 'no duplicate robot');
    await c.close();
    w.sim.store.remove('registrycredentials', 'team-a', 'rot');
    const c2 = w.controller();
    c2.start();
    await waitFor('cleanup by a fresh controller', () => w.cr('team-a', 'rot') === undefined);
    await c2.close();
  });

  it('SIMULATED: a restart with many credentials rotates none of them and creates no second robot', async () => {
    for (let i = 0; i < 25; i++) w.credential('team-b', `many-${i}`, { type: 'Robot', rotateEvery: '1h', serviceAccounts: ['default'] });
    const first = w.controller();
    first.start();
    await waitFor('all Ready', () => Array.from({ length: 25 }, (_, i) => w.ready('team-b', `many-${i}`)?.status === 'True').every(Boolean), 20_000);
    await first.close();
    const secrets = Array.from({ length: 25 }, (_, i) => w.secret('team-b', `many-${i}-registry`)!.password);
    const again = w.controller();
    again.start();
    await waitFor('every CR reconciled after the restart', () => again.queue.done >= 25, 20_000);
    const robots = (await w.robots('team-b')).filter((r) => r.account.startsWith('robot:team-b+many-'));
    assert.equal(robots.length, 25);
    assert.ok(robots.every((r) => r.rotated_at === null), 'nothing rotated early');
    assert.deepEqual(Array.from({ length: 25 }, (_, i) => w.secret('team-b', `many-${i}-registry`)!.password), secrets);
    for (let i = 0; i < 25; i++) w.sim.store.remove('registrycredentials', 'team-b', `many-${i}`);
    // 25 finalizers edit the same service account at once: conflicts (409) are retried until all are gone.
    await waitFor('all CRs gone', () => Array.from({ length: 25 }, (_, i) => w.cr('team-b', `many-${i}`) === undefined).every(Boolean), 30_000);
    assert.deepEqual((await w.robots('team-b')).filter((r) => r.account.startsWith('robot:team-b+many-')), []);
    assert.deepEqual(w.pullSecrets('team-b', 'default'), []);
    await again.close();
  });

  it('SIMULATED: broken watches, 410 Gone and API 500s: the controller re-lists, retries and converges with one robot each', async () => {
    const c = w.controller();
    c.start();
    await c.informer.synced;
    const relists = c.informer.relists;
    // Watch cut, a change it misses, then compaction: its resourceVersion is now too old (410), as on a real API server.
    w.sim.breakWatches();
    let failures = 0;
    w.sim.fail = (method, path) => (method !== 'GET' && path.includes('/secrets') && failures++ < 3 ? 500 : undefined);
    w.credential('team-a', 'flaky', { type: 'Robot', serviceAccounts: ['default'] });
    w.sim.store.compact();
    await waitFor('Ready after 500s', () => w.ready('team-a', 'flaky')?.status === 'True', 15_000);
    assert.ok(failures >= 3, 'the injected failures were hit');
    assert.ok(c.informer.relists > relists, 'the 410 made it list again');
    w.sim.fail = undefined;
    assert.ok(await w.verify('robot:team-a+flaky', w.secret('team-a', 'flaky-registry')!.password));
    assert.deepEqual((await w.robots('team-a')).map((r) => r.account), ['robot:team-a+flaky']);
    assert.deepEqual(w.pullSecrets('team-a', 'default'), ['flaky-registry']);
    const metrics = await c.metrics.registry.metrics();
    assert.match(metrics, /tollgate_controller_reconciles_total\{result="error"\} [1-9]/, 'the 500s show as failed reconciles');
    assert.match(metrics, /tollgate_controller_events_total\{reason="(Created|Rotated)"\} 1/, 'the robot made before a failed Secret write is rotated, not duplicated');
    assert.match(metrics, /tollgate_controller_credentials 1\b/);
    await c.close();
  });

  it('SIMULATED: authz down → Ready=False AuthzUnavailable, no credential; authz back → Ready, exactly one robot', async () => {
    await w.authzDown();
    const c = w.controller();
    c.start();
    w.credential('team-b', 'patient', { type: 'Robot' });
    const cond = await waitFor('AuthzUnavailable', () => (w.ready('team-b', 'patient')?.reason === 'AuthzUnavailable' ? w.ready('team-b', 'patient') : undefined));
    assert.equal(cond.status, 'False');
    assert.equal(w.sim.store.get('secrets', 'team-b', 'patient-registry'), undefined);
    await w.authzUp();
    await waitFor('Ready after authz is back', () => w.ready('team-b', 'patient')?.status === 'True', 15_000);
    assert.deepEqual((await w.robots('team-b')).map((r) => r.account), ['robot:team-b+patient']);
    assert.ok(await w.verify('robot:team-b+patient', w.secret('team-b', 'patient-registry')!.password));
    await c.close();
  });

  it('SIMULATED: two replicas with a Lease — one leader at a time; when it stops, the other takes over and reconciles', async () => {
    const a = w.controller({ identity: 'replica-a' }, true);
    const b = w.controller({ identity: 'replica-b' }, true);
    a.start();
    b.start();
    await waitFor('a leader', () => a.leader!.isLeader() || b.leader!.isLeader());
    for (let i = 0; i < 10; i++) {
      assert.ok(!(a.leader!.isLeader() && b.leader!.isLeader()), 'never two leaders');
      await new Promise((r) => setTimeout(r, 100));
    }
    const [leader, follower] = a.leader!.isLeader() ? [a, b] : [b, a];
    const lease = w.sim.store.get('leases', 'tollgate', 'tollgate-controller')!;
    assert.equal((lease.spec as { holderIdentity: string }).holderIdentity, leader === a ? 'replica-a' : 'replica-b');
    assert.match((lease.spec as { renewTime: string }).renewTime, /\.\d{6}Z$/);
    w.credential('team-b', 'led', { type: 'Robot' });
    await waitFor('leader reconciles', () => w.ready('team-b', 'led')?.status === 'True');
    assert.equal(follower.queue.done, 0, 'the follower reconciled nothing');
    await leader.close();
    await waitFor('follower takes over', () => follower.leader!.isLeader(), 5000);
    w.credential('team-b', 'after', { type: 'Robot' });
    await waitFor('new leader reconciles', () => w.ready('team-b', 'after')?.status === 'True');
    // The API server stops answering the leader's Lease calls: it steps down within its renew deadline.
    w.sim.fail = (method, path) => (path.includes('/leases/') ? 500 : undefined);
    await waitFor('leader steps down when it cannot renew', () => !follower.leader!.isLeader(), 4000);
    w.sim.fail = undefined;
    await follower.close();
  });

  it('SIMULATED: a ServiceAccountToken CR → a Secret whose password is a TokenRequest JWT for that service account and audience, refreshed before it expires', async () => {
    const c = w.controller();
    c.start();
    w.credential('team-a', 'pods', { type: 'ServiceAccountToken', serviceAccountName: 'builder', expirationSeconds: 600, serviceAccounts: ['default'] });
    await waitFor('Ready', () => w.ready('team-a', 'pods')?.status === 'True');
    const first = w.secret('team-a', 'pods-registry')!;
    assert.equal(first.username, 'k8s');
    const claims = decodeJwt(first.password);
    assert.deepEqual(claims.aud, [AUDIENCE]);
    assert.equal(claims.sub, 'system:serviceaccount:team-a:builder');
    assert.equal(claims.iss, w.issuer.url);
    assert.equal(claims.exp! - claims.iat!, 12, 'the API server shortened the request (its max token expiration)');
    assert.equal(w.cr('team-a', 'pods')!.status!.account, 'system:serviceaccount:team-a:builder');
    assert.ok(w.pullSecrets('team-a', 'default').includes('pods-registry'));
    const second = await waitFor('refresh', () => {
      const s = w.secret('team-a', 'pods-registry');
      return s && s.password !== first.password ? s : undefined;
    }, 14_000);
    assert.ok(Date.now() / 1000 < claims.exp!, 'refreshed before the first token expired');
    assert.ok(decodeJwt(second.password).exp! > claims.exp!);
    w.sim.store.remove('registrycredentials', 'team-a', 'pods');
    await waitFor('CR gone', () => w.cr('team-a', 'pods') === undefined);
    assert.equal(w.sim.store.get('secrets', 'team-a', 'pods-registry'), undefined);
    assert.ok(!w.pullSecrets('team-a', 'default').includes('pods-registry'));
    await c.close();
  });

  it('SIMULATED: a ServiceAccountToken CR for a service account that does not exist → Ready=False naming spec.serviceAccountName, no Secret', async () => {
    const c = w.controller();
    c.start();
    const issued = w.sim.tokensIssued;
    w.credential('team-b', 'ghost', { type: 'ServiceAccountToken', serviceAccountName: 'ghost' });
    const cond = await waitFor('Ready=False', () => (w.ready('team-b', 'ghost')?.status === 'False' ? w.ready('team-b', 'ghost') : undefined));
    assert.match(cond.message, /^spec\.serviceAccountName: service account "ghost" does not exist/);
    assert.equal(w.sim.store.get('secrets', 'team-b', 'ghost-registry'), undefined);
    assert.equal(w.sim.tokensIssued, issued);
    await c.close();
  });
});
