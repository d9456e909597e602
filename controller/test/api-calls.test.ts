/**
 * What the controller costs the API server and authz, counted as a platform team would count it (SIMULATED
 * Kubernetes API server, real authz): its calls ride kept-alive connections instead of a TCP (and TLS)
 * handshake each.
 */
import assert from 'node:assert/strict';
import { KubeClient, paths } from '../src/kube/client.js';
import { World, waitFor } from './helpers.js';

describe('controller: the API calls it makes (SIMULATED Kubernetes API, real authz)', function () {
  this.timeout(60_000);
  const w = new World();
  before(async () => {
    await w.start();
    for (const ns of ['calls-a', 'calls-b']) w.serviceAccount(ns, 'default');
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
});
