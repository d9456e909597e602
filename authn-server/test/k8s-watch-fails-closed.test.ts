/**
 * Issue 18, item 4: the Secret watch fails closed. Against the SIMULATED Kubernetes API server's four broken
 * watches (an ERROR event after 200, a request never answered, an empty 200, a proxy holding the stream
 * open), a deleted Secret stops logging in within `--k8s-stale-after` + 5 s and /readyz says 503; an
 * empty-200 server is not hammered; a quiet healthy cluster (rare bookmarks, watches ended at the
 * timeoutSeconds asked) never looks stale. Short intervals stand in for the real ones (stale-after 3 s,
 * timeoutSeconds 1 s, bookmarks every 4 s for "about once a minute").
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import request from 'supertest';
import type { Registry } from 'prom-client';
import { createCredentials, type Credentials } from '../src/credentials/chain.js';
import { createK8sSecretsBackend, type K8sSecretsBackend } from '../src/credentials/k8s-secrets/index.js';
import type { InformerOptions } from '../src/credentials/k8s-secrets/informer.js';
import { createMetrics } from '../src/metrics/index.js';
import { SimulatedKubeApi, type BrokenWatch } from './k8s/api-sim.js';
import { until } from './k8s/until.js';
import { basic, logger, makeKeys, StandInAuthz, tableRule, tempDir, testApp, type TestApp } from './helpers.js';

const NAME = 'tollgate-registry';
const STALE_MS = 3000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));


describe('Secret watch fails closed (SIMULATED Kubernetes API server)', function () {
  this.timeout(30_000);
  let sim: SimulatedKubeApi;
  let tmp: ReturnType<typeof tempDir>;
  let authz: StandInAuthz;
  let backend: K8sSecretsBackend;
  let creds: Credentials;
  let registry: Registry;
  let t: TestApp;

  async function start(informer: Partial<InformerOptions>): Promise<void> {
    const tokenFile = join(tmp.dir, 'token');
    writeFileSync(tokenFile, sim.token);
    const metrics = createMetrics(false);
    registry = metrics.registry;
    backend = createK8sSecretsBackend({ conn: { baseUrl: new URL(sim.url), tokenFile }, logger, registry, informer });
    creds = await createCredentials({ logger, watch: { watch: false, pollMs: 0 }, k8sSecrets: backend });
    t = testApp({ keys: await makeKeys(tmp.dir), authzUrl: authz.url, credentials: creds, metrics });
    await backend.synced();
  }
  const login = () => request(t.app).get('/auth?service=registry.test&scope=repository:team-a/app:pull').set('Authorization', basic('team-a', 'pw'));
  const watches = () => sim.requests.filter((r) => r.path.includes('watch=1')).length;

  beforeEach(async () => {
    tmp = tempDir();
    sim = await new SimulatedKubeApi(NAME).start();
    authz = await new StandInAuthz(tableRule({ 'namespace:team-a': { 'team-a/': ['pull'] } })).start();
    sim.put('team-a', NAME, { username: 'team-a', password: 'pw' });
  });
  afterEach(async () => {
    await backend?.close();
    t?.authzClient.close();
    creds?.close();
    await Promise.all([sim.stop(), authz.stop()]);
    tmp.cleanup();
  });

  for (const how of ['error-after-200', 'hang', 'empty', 'proxy-hold'] as BrokenWatch[]) {
    it(`${how}: a deleted Secret stops logging in within stale-after + 5 s (503, /readyz 503) and never logs in again`, async () => {
      await start({ staleAfterMs: STALE_MS, backoffBaseMs: 100, backoffMaxMs: 1000 });
      await until(() => sim.watcherCount === 1, 2000, 'watch open');
      await login().expect(200);
      // From now on every watch misbehaves and every list fails: only the stale bound protects.
      sim.brokenWatch = how;
      sim.failNext('list', { status: 500 }, 10_000);
      sim.dropWatches();
      sim.delete('team-a', NAME);
      const deletedAt = Date.now();
      let res = await login();
      while (res.status === 200 && Date.now() - deletedAt < STALE_MS + 6000) {
        await sleep(100);
        res = await login();
      }
      const took = Date.now() - deletedAt;
      assert.equal(res.status, 503, `still ${res.status} after ${took} ms`);
      assert.ok(took <= STALE_MS + 5000, `stopped after ${took} ms`);
      assert.ok(Number(res.headers['retry-after']) >= 1);
      const ready = await request(t.app).get('/readyz').expect(503);
      assert.equal(ready.body.checks['k8s-secrets'], false);
      // The API heals: the list shows the Secret gone — 401, never 200 again.
      sim.brokenWatch = undefined;
      sim.clearFaults();
      await until(async () => (await login()).status === 401, 5000, 'relisted without the Secret');
      await request(t.app).get('/readyz').expect(200);
    });
  }

  it('an empty-200 API server sees at most a few watch requests per second (bounded, jittered backoff; re-lists)', async () => {
    await start({ staleAfterMs: 30_000 });
    await until(() => sim.watcherCount === 1, 2000, 'watch open');
    sim.brokenWatch = 'empty';
    sim.dropWatches();
    const before = watches();
    const lists = () => sim.requests.filter((r) => !r.path.includes('watch=1')).length;
    const listsBefore = lists();
    await sleep(4000);
    const n = watches() - before;
    assert.ok(n >= 2, `it keeps trying (${n})`);
    assert.ok(n <= 8, `${n} watch requests in 4 s`);
    assert.ok(lists() > listsBefore, 'repeated failures list again');
    const errors = (await registry.metrics()).match(/^tollgate_authn_k8s_errors_total\{kind="watch"\} (\d+)$/m);
    assert.ok(Number(errors?.[1]) >= n - 1, 'every empty watch counts as an error (the last may still be open)');
  });

  it('a quiet healthy cluster (bookmarks rarely, unchanged resourceVersion) never looks stale', async () => {
    sim.bookmarkEveryMs = 4000;
    await start({ staleAfterMs: 3000 }); // timeoutSeconds 1, so a watch ends every second
    const until6s = Date.now() + 6000;
    let samples = 0;
    let loginsOk = 0;
    while (Date.now() < until6s) {
      assert.equal(backend.ready(), true, `stale after ${6000 - (until6s - Date.now())} ms`);
      if (samples++ % 10 === 0) loginsOk += (await login()).status === 200 ? 1 : 0;
      await sleep(25);
    }
    assert.equal(loginsOk, Math.ceil(samples / 10));
    await request(t.app).get('/readyz').expect(200);
    const n = watches();
    assert.ok(n >= 4 && n <= 8, `one watch per timeoutSeconds, no churn (${n} in 6 s)`);
    assert.doesNotMatch(await registry.metrics(), /^tollgate_authn_k8s_errors_total\{kind="watch"\} [1-9]/m);
  });
});
