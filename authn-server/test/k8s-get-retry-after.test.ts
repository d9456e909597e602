/**
 * Get mode obeys the API server's `429` `Retry-After` (SIMULATED Kubernetes API server): a long one fails
 * the login at once and every namespace lookup after it fails closed without a request until it has
 * passed (capped at 10 s, so a huge value cannot stop namespace logins for long); a short one is waited
 * out inside the login; a cached credential keeps answering meanwhile. A clock the test moves stands in
 * for the waits longer than one second.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { KubeClient } from '../../common/kube/client.js';
import { SecretGetter, retryAfterMs } from '../src/credentials/k8s-secrets/get-mode.js';
import { createK8sMetrics } from '../src/credentials/k8s-secrets/metrics.js';
import { SimulatedKubeApi } from './k8s/api-sim.js';
import { logger, tempDir } from './helpers.js';

const NAME = 'tollgate-registry';
const throttled = (retryAfter: string) => ({ status: 429, body: '{"kind":"Status","message":"too many requests"}', headers: { 'Retry-After': retryAfter } });

describe('get mode: 429 Retry-After (SIMULATED Kubernetes API server)', () => {
  let sim: SimulatedKubeApi;
  let tmp: ReturnType<typeof tempDir>;
  let now: number;
  let g: SecretGetter;
  let kube: KubeClient;
  const gets = () => sim.requests.filter((r) => r.path.startsWith('/api/v1/namespaces/')).length;

  beforeEach(async () => {
    sim = await new SimulatedKubeApi(NAME).start();
    tmp = tempDir();
    const tokenFile = join(tmp.dir, 'token');
    writeFileSync(tokenFile, sim.token);
    now = 1_000_000;
    kube = new KubeClient({ baseUrl: new URL(sim.url), tokenFile }, { userAgent: 'tollgate-authn' });
    g = new SecretGetter({ kube, secretName: NAME, logger, metrics: createK8sMetrics(() => true), now: () => now });
    for (const ns of ['team-a', 'team-b', 'team-c']) sim.put(ns, NAME, { username: ns, password: `pw-${ns}` });
  });
  afterEach(async () => {
    kube.close();
    await sim.stop();
    tmp.cleanup();
  });

  it('Retry-After: 5 → that login fails closed after one GET; other namespaces fail closed with no GET for 5 s; a cached one still answers; then GETs resume', async () => {
    assert.equal((await g.get('team-a'))?.password, 'pw-team-a', 'cached before the API server got busy');
    sim.failNext('get', throttled('5'), 5);
    const before = gets();
    await assert.rejects(g.get('team-b'), (e: Error & { status?: number }) => e.status === 429);
    assert.equal(gets() - before, 1, 'not asked again inside the login');
    now += 4_900;
    await assert.rejects(g.get('team-c'), /429 Retry-After/);
    assert.equal(gets() - before, 1, 'no GET while the API server asked for quiet');
    assert.equal((await g.get('team-a'))?.password, 'pw-team-a', 'a cached credential keeps answering');
    sim.clearFaults();
    now += 200;
    assert.equal((await g.get('team-b'))?.password, 'pw-team-b');
    assert.equal(gets() - before, 2);
  });

  it('a huge Retry-After (an hour, or an HTTP date next week) is capped at 10 s', async () => {
    for (const value of ['3600', new Date(Date.now() + 7 * 86400_000).toUTCString()]) {
      sim.failNext('get', throttled(value));
      const ns = value === '3600' ? 'team-a' : 'team-b';
      await assert.rejects(g.get(ns), (e: Error & { status?: number }) => e.status === 429);
      now += 9_000;
      await assert.rejects(g.get(ns), /not to be asked/);
      now += 1_001;
      assert.equal((await g.get(ns))?.password, `pw-${ns}`, `asked again 10 s after Retry-After: ${value}`);
    }
  });

  it('Retry-After: 1 is waited out inside the login, which then succeeds (two GETs)', async () => {
    sim.failNext('get', throttled('1'));
    const before = gets();
    // The test clock stands still; the wait itself is real (one second).
    assert.equal((await g.get('team-a'))?.password, 'pw-team-a');
    assert.equal(gets() - before, 2);
  });

  it('Retry-After parsing: delay-seconds, an HTTP date, nothing usable', () => {
    assert.equal(retryAfterMs('7', 0), 7000);
    assert.equal(retryAfterMs('Thu, 01 Jan 1970 00:00:10 GMT', 4000), 6000);
    assert.equal(retryAfterMs('Thu, 01 Jan 1970 00:00:01 GMT', 4000), 0, 'a date in the past: now');
    assert.equal(retryAfterMs(undefined, 0), undefined);
    assert.equal(retryAfterMs('soon', 0), undefined);
    assert.equal(retryAfterMs('-3', 0), undefined);
  });
});
