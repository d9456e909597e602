/**
 * Robot RegistryCredentials end to end against the SIMULATED Kubernetes API server and the real authz:
 * the Secret appears with a working robot secret, service accounts reference it, status and Events say
 * so; spec changes, deletion, conflicts and bad input behave as docs/controller.md promises.
 */
import assert from 'node:assert/strict';
import { ownedBy } from '../src/decide/secret.js';
import { World, waitFor } from './helpers.js';

describe('controller: Robot credentials (SIMULATED Kubernetes API, real authz)', function () {
  this.timeout(60_000);
  const w = new World();
  before(async () => {
    await w.start();
    for (const ns of ['team-a', 'team-b', 'prod']) {
      w.serviceAccount(ns, 'default');
      w.serviceAccount(ns, 'builder');
    }
    w.controller().start();
  });
  after(() => w.stop());

  it('SIMULATED: a Robot CR gets a dockerconfigjson Secret whose robot secret authz accepts, the listed service accounts reference it, status Ready, Event Created', async () => {
    w.credential('team-a', 'ci', { type: 'Robot', actions: ['pull', 'push'], secretName: 'ci-registry', serviceAccounts: ['default', 'builder'] });
    const ready = await waitFor('Ready=True', () => w.ready('team-a', 'ci')?.status === 'True');
    assert.ok(ready);
    const cred = w.secret('team-a', 'ci-registry')!;
    assert.equal(cred.username, 'robot:team-a+ci');
    assert.ok(await w.verify('robot:team-a+ci', cred.password), 'authz accepts the secret in the Secret');
    assert.deepEqual((await w.robots('team-a')).map((r) => [r.account, r.actions]), [['robot:team-a+ci', ['pull', 'push']]]);
    assert.deepEqual(w.pullSecrets('team-a', 'default'), ['ci-registry']);
    assert.deepEqual(w.pullSecrets('team-a', 'builder'), ['ci-registry']);
    const st = w.cr('team-a', 'ci')!.status!;
    assert.equal(st.account, 'robot:team-a+ci');
    assert.equal(st.secretName, 'ci-registry');
    assert.equal(st.observedGeneration, 1);
    assert.equal(Date.parse(st.nextRotation) - Date.parse(st.lastRotation), 86400_000);
    assert.deepEqual(w.cr('team-a', 'ci')!.metadata.finalizers, ['registry.tollgate.dev/cleanup']);
    const secretObj = w.sim.store.get('secrets', 'team-a', 'ci-registry')!;
    assert.equal(secretObj.type, 'kubernetes.io/dockerconfigjson');
    assert.ok(ownedBy(secretObj, String(w.sim.store.get('registrycredentials', 'team-a', 'ci')!.metadata.uid)));
    await waitFor('Event Created', () => w.events('team-a').some((e) => e.reason === 'Created' && e.regarding.name === 'ci'));
  });

  it('SIMULATED: reconciling again changes nothing (no rotation, no second robot, no status write)', async () => {
    const before = w.secret('team-a', 'ci-registry');
    const rv = w.sim.store.get('registrycredentials', 'team-a', 'ci')!.metadata.resourceVersion;
    const c2 = w.controller();
    c2.start();
    await waitFor('second controller reconciled', () => c2.queue.done >= 1);
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual(w.secret('team-a', 'ci-registry'), before);
    assert.equal(w.sim.store.get('registrycredentials', 'team-a', 'ci')!.metadata.resourceVersion, rv);
    assert.equal((await w.robots('team-a')).length, 1);
    assert.equal((await w.robots('team-a'))[0]!.rotated_at, null);
    await c2.close();
  });

  it('SIMULATED: changed actions re-create the robot and rewrite the Secret; a changed secretName moves it; a dropped service account loses its reference', async () => {
    const old = w.secret('team-a', 'ci-registry')!;
    const cr = w.sim.store.get('registrycredentials', 'team-a', 'ci')!;
    w.sim.store.update('registrycredentials', 'team-a', 'ci', { ...cr, spec: { type: 'Robot', actions: ['pull'], secretName: 'ci-pull', serviceAccounts: ['default'] } }, { status: false, patch: false });
    await waitFor('generation 2 observed and Ready', () => w.cr('team-a', 'ci')?.status?.observedGeneration === 2 && w.ready('team-a', 'ci')?.status === 'True');
    assert.deepEqual((await w.robots('team-a')).map((r) => r.actions), [['pull']]);
    assert.equal(w.sim.store.get('secrets', 'team-a', 'ci-registry'), undefined, 'the old Secret is removed');
    const now = w.secret('team-a', 'ci-pull')!;
    assert.ok(await w.verify('robot:team-a+ci', now.password));
    assert.ok(!(await w.verify('robot:team-a+ci', old.password)), 'the re-created robot does not accept the old secret');
    assert.deepEqual(w.pullSecrets('team-a', 'default'), ['ci-pull']);
    assert.deepEqual(w.pullSecrets('team-a', 'builder'), []);
  });

  it('SIMULATED: deleting the CR deletes the robot in authz, the Secret and the references, then the CR itself', async () => {
    const cred = w.secret('team-a', 'ci-pull')!;
    w.sim.store.remove('registrycredentials', 'team-a', 'ci');
    await waitFor('CR gone', () => w.cr('team-a', 'ci') === undefined);
    assert.deepEqual(await w.robots('team-a'), []);
    assert.ok(!(await w.verify('robot:team-a+ci', cred.password)));
    assert.equal(w.sim.store.get('secrets', 'team-a', 'ci-pull'), undefined);
    assert.deepEqual(w.pullSecrets('team-a', 'default'), []);
  });

  it('SIMULATED: push asked in a namespace outside --allow-push → Ready=False naming spec.actions, no robot, no Secret', async () => {
    w.credential('prod', 'ci', { type: 'Robot', actions: ['pull', 'push'], serviceAccounts: ['default'] });
    const c = await waitFor('Ready=False', () => (w.ready('prod', 'ci')?.status === 'False' ? w.ready('prod', 'ci') : undefined));
    assert.equal(c.reason, 'InvalidSpec');
    assert.match(c.message, /^spec\.actions: push is not allowed in namespace "prod"/);
    assert.deepEqual(await w.robots('prod'), []);
    assert.equal(w.sim.store.get('secrets', 'prod', 'ci-registry'), undefined);
    assert.deepEqual(w.pullSecrets('prod', 'default'), []);
    await waitFor('Event Failed', () => w.events('prod').some((e) => e.reason === 'Failed' && e.type === 'Warning'));
  });

  const bad: Array<[string, Record<string, unknown>, RegExp, string?]> = [
    ['unknown type', { type: 'Password' }, /^spec\.type:/],
    ['actions outside pull/push', { type: 'Robot', actions: ['pull', 'delete'] }, /^spec\.actions:/],
    ['rotateEvery below 10s', { type: 'Robot', rotateEvery: '5s' }, /^spec\.rotateEvery:/],
    ['overlap ≥ rotateEvery', { type: 'Robot', rotateEvery: '1h', overlap: '2h' }, /^spec\.overlap:/],
    ['overlap beyond authz\'s cap', { type: 'Robot', rotateEvery: '90d', overlap: '40d' }, /^spec\.overlap:/],
    ['expirationSeconds out of range', { type: 'ServiceAccountToken', serviceAccountName: 'builder', expirationSeconds: 60 }, /^spec\.expirationSeconds:/],
    ['a name that makes an invalid robot name', { type: 'Robot' }, /^metadata\.name:/, 'ci.v2'],
    ['a missing service account', { type: 'Robot', serviceAccounts: ['default', 'nobody'] }, /^spec\.serviceAccounts\[1\]: service account "nobody" does not exist/],
  ];
  for (const [what, spec, message, name] of bad) {
    it(`SIMULATED bad input: ${what} → Ready=False naming the field, no robot, no Secret, no reference`, async () => {
      const n = name ?? `bad-${bad.findIndex((b) => b[0] === what)}`;
      w.credential('team-b', n, spec);
      const c = await waitFor('Ready=False', () => (w.ready('team-b', n)?.status === 'False' ? w.ready('team-b', n) : undefined));
      assert.match(c.message, message);
      assert.deepEqual(await w.robots('team-b'), []);
      assert.equal(w.sim.store.list('secrets', 'team-b').length, 0);
      assert.deepEqual(w.pullSecrets('team-b', 'default'), []);
    });
  }

  it('SIMULATED: a Secret of the same name the controller did not create is neither adopted nor overwritten (Conflict)', async () => {
    w.sim.put('/api/v1/namespaces/team-b/secrets', { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'mine' }, type: 'Opaque', data: { k: 'dg==' } });
    w.credential('team-b', 'taker', { type: 'Robot', secretName: 'mine' });
    const c = await waitFor('Conflict', () => (w.ready('team-b', 'taker')?.reason === 'Conflict' ? w.ready('team-b', 'taker') : undefined));
    assert.match(c.message, /^spec\.secretName: Secret "mine" exists/);
    assert.deepEqual(w.sim.store.get('secrets', 'team-b', 'mine')!.data, { k: 'dg==' });
    assert.deepEqual(await w.robots('team-b'), []);
    w.sim.store.remove('registrycredentials', 'team-b', 'taker');
    await waitFor('CR gone', () => w.cr('team-b', 'taker') === undefined);
    assert.ok(w.sim.store.get('secrets', 'team-b', 'mine'), 'deleting the CR leaves the foreign Secret alone');
  });

  it('SIMULATED: a robot of the same name made by someone else is not adopted (Conflict), and its secret keeps working', async () => {
    const r = await fetch(`${w.authzUrl}/robots`, { method: 'POST', headers: { authorization: 'Bearer controller-test-admin-0123456789abcdef', 'content-type': 'application/json' }, body: JSON.stringify({ namespace: 'team-b', name: 'handmade', actions: ['pull'] }) });
    const { secret } = (await r.json()) as { secret: string };
    w.credential('team-b', 'handmade', { type: 'Robot' });
    const c = await waitFor('Conflict', () => (w.ready('team-b', 'handmade')?.reason === 'Conflict' ? w.ready('team-b', 'handmade') : undefined));
    assert.match(c.message, /robot "robot:team-b\+handmade" exists in authz but was not created by this RegistryCredential/);
    assert.ok(await w.verify('robot:team-b+handmade', secret));
    assert.equal(w.sim.store.get('secrets', 'team-b', 'handmade-registry'), undefined);
    assert.equal(w.cr('team-b', 'handmade')!.status!.account, undefined, 'no claim left behind');
    w.sim.store.remove('registrycredentials', 'team-b', 'handmade');
    await waitFor('CR gone', () => w.cr('team-b', 'handmade') === undefined);
    assert.ok(await w.verify('robot:team-b+handmade', secret), 'deleting the CR does not delete a robot it never owned');
  });

  it('SIMULATED: the controller makes only the API calls docs/controller.md lists (PATCH always merge-patch)', () => {
    const allowed = new Set(['GET', 'POST', 'PUT', 'PATCH', 'DELETE']);
    for (const r of w.sim.requests) {
      assert.ok(allowed.has(r.method), `${r.method} ${r.path}`);
      if (r.method === 'PATCH') assert.equal(r.contentType, 'application/merge-patch+json', r.path);
      assert.match(r.pathname, /^\/api\/v1\/namespaces\/[^/]+\/(secrets|serviceaccounts)(\/[^/]+(\/token)?)?$|^\/apis\/registry\.tollgate\.dev\/v1alpha1\/(namespaces\/[^/]+\/)?registrycredentials(\/[^/]+(\/status)?)?$|^\/apis\/events\.k8s\.io\/v1\/namespaces\/[^/]+\/events$|^\/apis\/coordination\.k8s\.io\/v1\/namespaces\/[^/]+\/leases(\/[^/]+)?$/, `${r.method} ${r.path}`);
    }
  });
});
