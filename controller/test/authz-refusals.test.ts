/**
 * authz refusing a request as bad input (a 4xx other than 401/403) is permanent for that spec: the CR
 * says so with authz's own message and an Event, and the controller does not retry until the CR changes.
 * authz down, 5xx, 401/403 stay "unavailable" and are retried (convergence.test.ts covers authz down).
 * Real authz; the CR cases use the SIMULATED Kubernetes API server, which, unlike a real one, lets a
 * namespace authz refuses (`team_x`) exist — the stand-in for any request a stricter authz refuses.
 */
import assert from 'node:assert/strict';
import { AuthzClient, AuthzRefused, AuthzUnavailable } from '../src/authz-client.js';
import { FINALIZER } from '../src/decide/spec.js';
import { ADMIN, World, waitFor } from './helpers.js';

const refusal = async (p: Promise<unknown>): Promise<AuthzRefused> => {
  const e = await p.then(() => undefined, (x: unknown) => x);
  assert.ok(e instanceof AuthzRefused, `expected AuthzRefused, got ${String(e)}`);
  return e;
};

describe('controller: authz refusals are permanent, authz trouble is not', function () {
  this.timeout(30_000);
  const w = new World();
  before(async () => {
    await w.start();
    w.serviceAccount('team_x', 'default');
  });
  afterEach(() => (w.refuse = undefined));
  after(() => w.stop());

  it('the client: 400 on create, rotate, read and delete is AuthzRefused with authz\'s message; 401 and authz down are AuthzUnavailable', async () => {
    const authz = new AuthzClient(w.authzUrl, () => ADMIN);
    const create = await refusal(authz.create('team_x', 'ci', ['pull']));
    assert.equal(create.status, 400);
    assert.match(create.message, /^authz POST \/robots answered 400: .*namespace/);
    assert.ok(await authz.create('team-r', 'ci', ['pull']));
    const rotate = await refusal(authz.rotate('robot:team-r+ci', 40 * 86400));
    assert.match(rotate.message, /answered 400: .*overlap must be between/);
    assert.match((await refusal(authz.find('robot:team_x+ci'))).message, /answered 400: .*is not a robot account/);
    assert.match((await refusal(authz.remove('robot:team_x+ci'))).message, /answered 400: .*is not a robot account/);
    await assert.rejects(new AuthzClient(w.authzUrl, () => 'not-the-token').find('robot:team-r+ci'), (e) => e instanceof AuthzUnavailable && /answered 401/.test(e.message));
    const url = w.authzUrl;
    await w.authzDown();
    try {
      await assert.rejects(new AuthzClient(url, () => ADMIN).find('robot:team-r+ci'), (e) => e instanceof AuthzUnavailable && /unreachable/.test(e.message));
    } finally {
      await w.authzUp();
    }
  });

  it('SIMULATED: a CR whose robot authz refuses → Ready=False AuthzRefused naming authz\'s reason, one Failed Event, no retry until the CR changes', async () => {
    const c = w.controller();
    c.start();
    w.credential('team_x', 'ci', { type: 'Robot' });
    const cond = await waitFor('AuthzRefused', () => (w.ready('team_x', 'ci')?.reason === 'AuthzRefused' ? w.ready('team_x', 'ci') : undefined));
    assert.equal(cond.status, 'False');
    assert.match(cond.message, /authz GET \/robots\/… answered 400: "robot:team_x\+ci" is not a robot account/);
    assert.equal(w.sim.store.get('secrets', 'team_x', 'ci-registry'), undefined, 'no Secret');
    const calls = () => w.authzRequests.filter((r) => r.path.includes('team_x')).length;
    // Two reconciles on creation: the first adds the finalizer, which is a change that brings the second.
    await waitFor('the creation\'s two reconciles', () => c.queue.done >= 2);
    const before = calls();
    // A retried failure would have a backoff timer scheduled; a decided one has none (and nothing queued).
    assert.equal(c.queue.timerAt('team_x/ci'), undefined, 'no retry scheduled while the CR is unchanged');
    assert.match(await c.metrics.registry.metrics(), /tollgate_controller_reconciles_total\{result="ok"\} [1-9]/);
    assert.doesNotMatch(await c.metrics.registry.metrics(), /tollgate_controller_reconciles_total\{result="error"\} [1-9]/, 'a decided failure, not an error to back off from');
    const failed = w.events('team_x').filter((e) => e.reason === 'Failed' && e.regarding.name === 'ci');
    assert.equal(failed.length, 1);
    assert.equal(failed[0]!.type, 'Warning');
    assert.match(failed[0]!.note, /^AuthzRefused: authz GET .* is not a robot account/);

    const cr = w.sim.store.get('registrycredentials', 'team_x', 'ci')!;
    w.sim.store.update('registrycredentials', 'team_x', 'ci', { ...cr, spec: { type: 'Robot', rotateEvery: '2h' } }, { status: false, patch: false });
    await waitFor('reconciled again after the spec change', () => calls() > before);
    await waitFor('observedGeneration 2', () => w.cr('team_x', 'ci')?.status?.observedGeneration === 2);
    assert.equal(w.ready('team_x', 'ci')?.reason, 'AuthzRefused');
    await c.close();
  });

  it('SIMULATED: authz refusing the create withdraws the claim — a same-named robot made later is a Conflict, never adopted (nor deleted with the CR)', async () => {
    const c = w.controller();
    c.start();
    w.refuse = (method, path) => (method === 'POST' && path === '/robots' ? 'namespace team-c has reached its robot limit' : undefined);
    w.credential('team-c', 'refused', { type: 'Robot' });
    const cond = await waitFor('AuthzRefused', () => (w.ready('team-c', 'refused')?.reason === 'AuthzRefused' ? w.ready('team-c', 'refused') : undefined));
    assert.match(cond.message, /answered 400: namespace team-c has reached its robot limit/);
    assert.equal(w.cr('team-c', 'refused')?.status?.account, undefined, 'the claim is withdrawn');
    // Someone makes a robot of that name by hand; the CR changes afterwards.
    w.refuse = undefined;
    const authz = new AuthzClient(w.authzUrl, () => ADMIN);
    assert.ok(await authz.create('team-c', 'refused', ['pull']));
    const cr = w.sim.store.get('registrycredentials', 'team-c', 'refused')!;
    w.sim.store.update('registrycredentials', 'team-c', 'refused', { ...cr, spec: { type: 'Robot', rotateEvery: '2h' } }, { status: false, patch: false });
    const conflict = await waitFor('Conflict', () => (w.ready('team-c', 'refused')?.reason === 'Conflict' ? w.ready('team-c', 'refused') : undefined));
    assert.match(conflict.message, /was not created by this RegistryCredential/);
    assert.equal(w.secret('team-c', 'refused-registry'), undefined, 'no Secret with an adopted secret');
    w.sim.store.remove('registrycredentials', 'team-c', 'refused');
    await waitFor('the CR gone', () => w.cr('team-c', 'refused') === undefined);
    assert.deepEqual(await authz.find('robot:team-c+refused'), { account: 'robot:team-c+refused', actions: ['pull'] }, 'the hand-made robot is left alone');
    await c.close();
  });

  it('SIMULATED: a deletion authz refuses → Ready=False AuthzRefused, the finalizer kept, no retry scheduled; a change to the CR finishes it', async () => {
    const c = w.controller();
    c.start();
    w.credential('team-c', 'gone', { type: 'Robot' });
    await waitFor('Ready', () => w.ready('team-c', 'gone')?.status === 'True');
    w.refuse = (method, path) => (method === 'DELETE' && path.startsWith('/robots/') ? 'robot is protected' : undefined);
    w.sim.store.remove('registrycredentials', 'team-c', 'gone');
    const cond = await waitFor('AuthzRefused', () => (w.ready('team-c', 'gone')?.reason === 'AuthzRefused' ? w.ready('team-c', 'gone') : undefined));
    assert.equal(cond.status, 'False');
    assert.match(cond.message, /authz DELETE \/robots\/… answered 400: robot is protected/);
    await waitFor('the queue idle', () => c.queue.size === 0);
    // Only the robot's next rotation (rotateEvery, days away) may still be scheduled: no backoff retry.
    const at = c.queue.timerAt('team-c/gone');
    assert.ok(at === undefined || at > Date.now() + 3600_000, `no retry scheduled (a timer at ${at}): not a hot loop`);
    assert.deepEqual(w.cr('team-c', 'gone')?.metadata.finalizers, [FINALIZER], 'the finalizer is kept');
    const deletes = w.authzRequests.filter((r) => r.method === 'DELETE' && r.path.includes('team-c%2Bgone')).length;
    assert.ok(deletes >= 1);
    // authz allows it again and the CR changes: the deletion completes, the robot is gone.
    w.refuse = undefined;
    const cr = w.sim.store.get('registrycredentials', 'team-c', 'gone')!;
    w.sim.store.update('registrycredentials', 'team-c', 'gone', { ...cr, spec: { type: 'Robot', rotateEvery: '2h' } }, { status: false, patch: false });
    await waitFor('the CR gone', () => w.cr('team-c', 'gone') === undefined);
    assert.equal(await new AuthzClient(w.authzUrl, () => ADMIN).find('robot:team-c+gone'), undefined);
    await c.close();
  });
});
