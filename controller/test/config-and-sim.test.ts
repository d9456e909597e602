/**
 * `tollgate controller` refuses a bad configuration naming the flag (exit 2, nothing started), and the
 * SIMULATED API server the controller tests rely on answers as the real one does where it matters:
 * 409 on a stale resourceVersion, 415 on a PATCH that is not merge-patch, 400 on a Lease time without six
 * fractional digits, finalizers holding a DELETE, watch replay and ERROR 410 after compaction.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { loadConfig } from '../src/config.js';
import { microTime } from '../src/decide/schedule.js';
import { KubeClient, paths } from '../src/kube/client.js';
import { Informer } from '../src/kube/informer.js';
import { createLogger } from '../../common/logger.js';
import { KubeApiSim } from '../../e2e/harness/kube-api-sim.js';

const ROOT = join(import.meta.dirname, '..', '..');

describe('controller configuration', () => {
  const base = { authzUrl: 'http://127.0.0.1:5001', authzTokenFile: '/t', registryHost: 'registry.example.com' };
  it('defaults: all namespaces may push, audience from --registry-host at wiring, Lease tollgate/tollgate-controller, 4 workers', () => {
    const c = loadConfig(base, {});
    assert.deepEqual([c.allowPush, c.leaderElect, c.leaseNamespace, c.leaseName, c.workers, c.tokenMaxAge, c.tokenMaxLifetime], [['*'], true, 'tollgate', 'tollgate-controller', 4, 3600, 86400]);
  });
  it('env TOLLGATE_CONTROLLER_* and the downward API fill what flags leave out', () => {
    const c = loadConfig({}, { TOLLGATE_CONTROLLER_AUTHZ_URL: 'http://authz:5001', TOLLGATE_CONTROLLER_AUTHZ_TOKEN_FILE: '/t', TOLLGATE_CONTROLLER_REGISTRY_HOST: 'r.example', TOLLGATE_CONTROLLER_ALLOW_PUSH: 'team-*, ci', POD_NAME: 'ctl-1', POD_NAMESPACE: 'infra' });
    assert.deepEqual([c.allowPush, c.identity, c.leaseNamespace], [['team-*', 'ci'], 'ctl-1', 'infra']);
  });
  for (const [flags, flag] of [[{ ...base, authzUrl: 'ftp://x' }, '--authz-url'], [{ ...base, registryHost: 'a b' }, '--registry-host'], [{ ...base, allowPush: ['Team_A'] }, '--allow-push'], [{ ...base, tokenMaxAge: 'soon' }, '--token-max-age'], [{ authzTokenFile: '/t', registryHost: 'r' }, '--authz-url']] as const) {
    it(`refuses a bad ${flag}, naming it`, () => assert.throws(() => loadConfig(flags as Record<string, unknown>, {}), new RegExp(flag)));
  }
  it('durations and the listen address read as authz\'s and authn\'s do (common/config-fields.ts): whole seconds in bounds, HOST:PORT', () => {
    assert.deepEqual(loadConfig({ ...base, resync: '1h', listen: '[::1]:9090' }, {}).listen, { host: '::1', port: 9090 });
    assert.equal(loadConfig({ ...base, resync: '1h' }, {}).resync, 3600);
    assert.throws(() => loadConfig({ ...base, resync: '10500ms' }, {}), /--resync: "10500ms" must be a whole number of seconds/);
    assert.throws(() => loadConfig({ ...base, resync: '5s' }, {}), /--resync: "5s" must be between 10s and 86400s/);
    assert.throws(() => loadConfig({ ...base, listen: '8080' }, {}), /--listen: invalid listen address "8080"/);
  });
  it('--k8s-api-url: plain http only to loopback, as authn\'s (common/config-fields.ts k8sApiUrlField)', () => {
    assert.throws(() => loadConfig({ ...base, k8sApiUrl: 'http://10.0.0.1:6443' }, {}), /--k8s-api-url: plain http is allowed only to loopback/);
    assert.throws(() => loadConfig({ ...base, k8sApiUrl: 'http://127.example.com:6443' }, {}), /--k8s-api-url: plain http is allowed only to loopback/);
    assert.throws(() => loadConfig({ ...base, k8sApiUrl: 'ftp://127.0.0.1' }, {}), /--k8s-api-url: must be an http\(s\) URL/);
    for (const ok of ['http://127.0.0.1:6443', 'http://127.1.2.3:1', 'http://localhost:8001', 'http://[::1]:6443', 'https://10.0.0.1:6443']) assert.equal(loadConfig({ ...base, k8sApiUrl: ok }, {}).k8sApiUrl, ok);
  });
  it('the command exits 2 with the flag named and starts nothing', () => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'cli', 'tollgate.ts'), 'controller', '--authz-url', 'http://127.0.0.1:1', '--authz-token-file', '/nonexistent'], { encoding: 'utf8', env: { ...process.env, TOLLGATE_CONTROLLER_REGISTRY_HOST: '' } });
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /--registry-host/);
  });
});

describe('SIMULATED Kubernetes API server: the wire behaviour controller tests depend on', () => {
  const sim = new KubeApiSim();
  let kube: KubeClient;
  before(async () => {
    await sim.start();
    kube = new KubeClient({ baseUrl: new URL(sim.url) });
  });
  after(() => sim.stop());

  it('SIMULATED: stale resourceVersion → 409 Conflict; merge-patch only; finalizers hold a DELETE', async () => {
    const made = await kube.create(paths.secrets('ns'), { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's', finalizers: ['x/y'] } });
    assert.equal(made.status, 201);
    const rv = (made.json as { metadata: { resourceVersion: string } }).metadata.resourceVersion;
    assert.equal((await kube.replace(paths.secret('ns', 's'), { metadata: { name: 's', resourceVersion: String(Number(rv) - 1) } })).status, 409);
    assert.equal((await kube.request('PATCH', paths.secret('ns', 's'), { data: {} }, 'application/json-patch+json')).status, 415);
    assert.equal((await kube.remove(paths.secret('ns', 's'))).status, 200);
    assert.ok((sim.store.get('secrets', 'ns', 's')!.metadata as { deletionTimestamp?: string }).deletionTimestamp);
    assert.equal((await kube.mergePatch(paths.secret('ns', 's'), { metadata: { finalizers: null } })).status, 200);
    assert.equal((await kube.get(paths.secret('ns', 's'))).status, 404);
  });

  it('SIMULATED: the informer lists in pages (limit/continue) and then follows the watch', async () => {
    for (let i = 0; i < 1100; i++) sim.put('/api/v1/namespaces/paged/secrets', { metadata: { name: `s${i}` } });
    const seen = new Set<string>();
    const inf = new Informer({ kube, path: '/api/v1/secrets', logger: createLogger({ name: 't', level: 'silent' }), onChange: (k) => seen.add(k), pageSize: 500 });
    inf.start();
    await inf.synced;
    const pages = sim.requests.filter((r) => r.pathname === '/api/v1/secrets' && !r.path.includes('watch=')).length;
    assert.ok(pages >= 3, `${pages} list requests`);
    assert.equal([...inf.cache.keys()].filter((k) => k.startsWith('paged/')).length, 1100);
    sim.put('/api/v1/namespaces/paged/secrets', { metadata: { name: 'late' } });
    const end = Date.now() + 3000;
    while (!inf.cache.has('paged/late') && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
    assert.ok(inf.cache.has('paged/late'), 'the watch delivered the new object');
    await inf.close();
  });

  it('SIMULATED: closing the informer while its list hangs ends the list request instead of waiting for its timeout', async () => {
    sim.failNext('list', 'hang');
    const inf = new Informer({ kube, path: '/api/v1/namespaces/hang/secrets', logger: createLogger({ name: 't', level: 'silent' }), onChange: () => undefined, listTimeoutMs: 120_000 });
    const asked = sim.requests.length;
    inf.start();
    const end = Date.now() + 3000;
    while (sim.requests.length === asked && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
    assert.equal(sim.requests.at(-1)?.pathname, '/api/v1/namespaces/hang/secrets', 'the list was sent (and is not answered)');
    const closed = await Promise.race([inf.close().then(() => 'closed'), new Promise((r) => setTimeout(() => r('still waiting after 10 s'), 10_000).unref())]);
    assert.equal(closed, 'closed');
    assert.equal(inf.ready(), false);
  });

  it('SIMULATED: Lease times must be MicroTime (six fractional digits)', async () => {
    const lease = (t: string) => ({ apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: `l${t.length}` }, spec: { holderIdentity: 'a', renewTime: t } });
    assert.equal((await kube.create(paths.leases('ns'), lease(new Date().toISOString()))).status, 400);
    assert.equal((await kube.create(paths.leases('ns'), lease(microTime(Date.now())))).status, 201);
  });

  it('SIMULATED: a watch replays from its resourceVersion; after compaction one from an older resourceVersion gets an ERROR event with code 410, one from the current resourceVersion is served', async () => {
    const from = String(sim.store.rv);
    await kube.create(paths.secrets('w'), { metadata: { name: 'a' } });
    const lines: string[] = [];
    const ctl = new AbortController();
    const s = await kube.watch(`/api/v1/secrets?watch=1&resourceVersion=${from}&timeoutSeconds=1`, { signal: ctl.signal, onLine: (l) => lines.push(l) });
    await s.done.catch(() => undefined);
    assert.deepEqual(lines.map((l) => (JSON.parse(l) as { type: string }).type), ['ADDED']);
    sim.store.compact();
    const gone: string[] = [];
    const s2 = await kube.watch(`/api/v1/secrets?watch=1&resourceVersion=${from}`, { signal: ctl.signal, onLine: (l) => gone.push(l) });
    await s2.done.catch(() => undefined);
    assert.deepEqual(JSON.parse(gone[0]!).object.code, 410);
    // As kube-apiserver: a watch from the current resourceVersion is served after compaction, not 410.
    const current: string[] = [];
    const s3 = await kube.watch(`/api/v1/secrets?watch=1&resourceVersion=${sim.store.rv}&timeoutSeconds=1`, { signal: ctl.signal, onLine: (l) => current.push(l) });
    assert.equal(s3.status, 200);
    await kube.create(paths.secrets('w'), { metadata: { name: 'b' } });
    await s3.done.catch(() => undefined);
    assert.deepEqual(current.map((l) => (JSON.parse(l) as { type: string; object: { metadata: { name?: string } } })).filter((e) => e.type !== 'BOOKMARK').map((e) => [e.type, e.object.metadata.name]), [['ADDED', 'b']]);
  });
});
