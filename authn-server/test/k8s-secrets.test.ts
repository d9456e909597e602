/**
 * Kubernetes Secret backend against a SIMULATED API server (test/k8s/api-sim.ts: the real list/watch
 * wire format over HTTP). Every rule of the backend, the watch life cycle, and the bad input of issue 10.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import request from 'supertest';
import { Registry } from 'prom-client';
import bcrypt from 'bcryptjs';
import { loadConfig } from '../src/config.js';
import { createCredentials, type Credentials } from '../src/credentials/chain.js';
import { KubeClient } from '../../common/kube/client.js';
import { resolveConnection } from '../../common/kube/connection.js';
import { createK8sSecretsBackend, type K8sSecretsBackend, type K8sSecretsOptions } from '../src/credentials/k8s-secrets/index.js';
import type { KeySet } from '../src/keys/load.js';
import { createMetrics } from '../src/metrics/index.js';
import { SimulatedKubeApi } from './k8s/api-sim.js';
import { until } from './k8s/until.js';
import { basic, logger, makeKeys, StandInAuthz, tableRule, tempDir, testApp, type TestApp } from './helpers.js';

const NAME = 'tollgate-registry';
const FAST = { backoffBaseMs: 10, backoffMaxMs: 50, listTimeoutMs: 1000, watchTimeoutSec: 3 };


describe('Kubernetes Secret backend (SIMULATED Kubernetes API server)', () => {
  let sim: SimulatedKubeApi;
  let tmp: ReturnType<typeof tempDir>;
  let tokenFile: string;
  let backend: K8sSecretsBackend | undefined;
  let kube: KubeClient | undefined;
  let registry: Registry;

  beforeEach(async () => {
    sim = await new SimulatedKubeApi(NAME).start();
    tmp = tempDir();
    tokenFile = join(tmp.dir, 'token');
    writeFileSync(tokenFile, `${sim.token}\n`);
    registry = new Registry();
  });
  afterEach(async () => {
    await backend?.close();
    backend = undefined;
    kube?.close();
    kube = undefined;
    await sim.stop();
    tmp.cleanup();
  });

  function open(opts: Partial<K8sSecretsOptions> = {}): K8sSecretsBackend {
    backend = createK8sSecretsBackend({ conn: { baseUrl: new URL(sim.url), tokenFile }, logger, registry, registryHost: 'registry.example.com', ...opts, informer: { ...FAST, ...opts.informer } });
    return backend;
  }
  /** A get-mode getter's API client, as the backend makes one; closed after each test. */
  function client(): KubeClient {
    kube = new KubeClient({ baseUrl: new URL(sim.url), tokenFile }, { userAgent: 'tollgate-authn' });
    return kube;
  }
  const metric = async (name: string, labels = ''): Promise<number> => {
    const line = (await registry.metrics()).split('\n').find((l) => l.startsWith(`${name}${labels ? `{${labels}}` : ''} `));
    return line ? Number(line.split(' ')[1]) : 0;
  };

  describe('credentials in the table', () => {
    it('a namespace logs in with its Secret; the account is prefixed, labels name the namespace', async () => {
      sim.put('team-a', NAME, { username: 'team-a', password: 'pw-a' });
      sim.put('team-b', NAME, { username: 'team-b', password: 'pw-b' });
      sim.put('team-c', 'other-secret', { username: 'team-c', password: 'pw-c' });
      const b = open();
      await b.synced();
      const r = await b.authenticate('team-a', 'pw-a');
      assert.equal(r.kind, 'ok');
      assert.ok(r.kind === 'ok');
      assert.equal(r.account, 'namespace:team-a');
      assert.deepEqual(r.labels, { namespace: ['team-a'], credential: ['k8s-secret'] });
      assert.equal((await b.authenticate('team-a', 'pw-b')).kind, 'wrong-password', 'another namespace password');
      assert.equal((await b.authenticate('team-b', 'pw-b')).kind, 'ok');
      assert.equal((await b.authenticate('team-c', 'pw-c')).kind, 'no-match', 'a Secret of another name is not read');
      assert.equal((await b.authenticate('team-z', 'x')).kind, 'no-match');
    });

    it('the Secret user name must equal the namespace, compared like the password', async () => {
      sim.put('team-a', NAME, { username: 'someone-else', password: 'pw-a' });
      const b = open();
      await b.synced();
      assert.equal((await b.authenticate('team-a', 'pw-a')).kind, 'wrong-password');
    });

    it('reads .dockerconfigjson auths[host] with username/password or auth; another host is not used', async () => {
      const cfg = (host: string, entry: object) => JSON.stringify({ auths: { [host]: entry } });
      sim.put('team-a', NAME, { '.dockerconfigjson': cfg('registry.example.com', { username: 'team-a', password: 'pw-a' }) }, { type: 'kubernetes.io/dockerconfigjson' });
      sim.put('team-b', NAME, { '.dockerconfigjson': cfg('registry.example.com', { auth: Buffer.from('team-b:pw:b').toString('base64') }) });
      sim.put('team-c', NAME, { '.dockerconfigjson': cfg('other.example.com', { username: 'team-c', password: 'pw-c' }) });
      const b = open();
      await b.synced();
      assert.equal((await b.authenticate('team-a', 'pw-a')).kind, 'ok');
      assert.equal((await b.authenticate('team-b', 'pw:b')).kind, 'ok', 'auth split at the first colon');
      assert.equal((await b.authenticate('team-c', 'pw-c')).kind, 'no-match');
    });

    it('user names that are not RFC 1123 labels are not this backend\'s, and cost no API call', async () => {
      sim.put('team-a', NAME, { username: 'team-a', password: 'pw' });
      const b = open({ mode: 'get' });
      for (const user of ['team.a', 'Team-A', 'team-a/x', '..', '../team-a', '-team', 'team-', 'a'.repeat(64), 'namespace:team-a', 'robot:team-a+ci', '']) {
        assert.equal((await b.authenticate(user, 'pw')).kind, 'no-match', JSON.stringify(user));
      }
      assert.equal(sim.requests.length, 0);
      assert.equal((await b.authenticate('a'.repeat(63), 'pw')).kind, 'no-match');
      assert.equal(sim.requests.length, 1, 'a 63-character label is looked up');
    });

    it('unusable Secrets are ignored with a counted reason, never a crash, and other namespaces keep working', async () => {
      sim.put('good', NAME, { username: 'good', password: 'pw' });
      sim.put('no-pass', NAME, { username: 'no-pass' });
      sim.put('no-keys', NAME, { other: 'x' });
      sim.put('bad-b64', NAME, { username: 'bad-b64', password: '%%%not base64' }, { raw: true });
      sim.put('not-json', NAME, { '.dockerconfigjson': '{"auths": ' });
      sim.put('no-auths', NAME, { '.dockerconfigjson': '{"x": 1}' });
      sim.put('bad-auth', NAME, { '.dockerconfigjson': JSON.stringify({ auths: { 'registry.example.com': { auth: Buffer.from('no-colon').toString('base64') } } }) });
      sim.put('huge', NAME, { username: 'huge', password: 'x'.repeat(1024 * 1024) });
      sim.put('ctl', NAME, { username: 'ctl', password: 'a\nb' });
      const b = open();
      await b.synced();
      assert.equal((await b.authenticate('good', 'pw')).kind, 'ok');
      for (const ns of ['no-pass', 'no-keys', 'bad-b64', 'not-json', 'no-auths', 'bad-auth', 'huge', 'ctl']) {
        assert.equal((await b.authenticate(ns, 'x'.repeat(1024 * 1024))).kind, 'no-match', ns);
      }
      assert.equal(await metric('tollgate_authn_k8s_errors_total', 'kind="invalid_secret"'), 8);
      assert.equal(b.size, 1);
    });

    it('a .dockerconfigjson Secret without --k8s-secret-registry-host is ignored', async () => {
      sim.put('team-a', NAME, { '.dockerconfigjson': JSON.stringify({ auths: { 'registry.example.com': { username: 'team-a', password: 'pw' } } }) });
      const b = open({ registryHost: undefined });
      await b.synced();
      assert.equal((await b.authenticate('team-a', 'pw')).kind, 'no-match');
    });

    it('lists in pages and asks only for the named Secret', async () => {
      for (let i = 0; i < 7; i++) sim.put(`ns-${i}`, NAME, { username: `ns-${i}`, password: `pw-${i}` });
      const b = open({ informer: { pageSize: 3 } });
      await b.synced();
      assert.equal(b.size, 7);
      const lists = sim.requests.filter((r) => !r.path.includes('watch=1'));
      assert.equal(lists.length, 3);
      for (const r of sim.requests) {
        assert.match(r.path, /fieldSelector=metadata\.name%3Dtollgate-registry/);
        assert.equal(r.auth, `Bearer ${sim.token}`);
      }
    });
    it('asks the API server to end each watch at half of the stale bound (a quiet cluster confirms in time), with bookmarks', async () => {
      const b = open({ informer: { staleAfterMs: 30_000, watchTimeoutSec: undefined } });
      await b.synced();
      await until(() => sim.watcherCount === 1, 2000, 'watch open');
      const watch = sim.requests.find((r) => r.path.includes('watch=1'))!;
      assert.match(watch.path, /&allowWatchBookmarks=true&timeoutSeconds=15$/);
    });
  });

  describe('the watch', () => {
    async function started(): Promise<K8sSecretsBackend> {
      const b = open();
      await b.synced();
      await until(() => sim.watcherCount === 1, 2000, 'watch open');
      return b;
    }

    it('created, rotated and deleted Secrets take effect within 2 s of the event', async () => {
      const b = await started();
      assert.equal((await b.authenticate('team-a', 'one')).kind, 'no-match');
      sim.put('team-a', NAME, { username: 'team-a', password: 'one' });
      await until(async () => (await b.authenticate('team-a', 'one')).kind === 'ok', 2000, 'created');
      sim.put('team-a', NAME, { username: 'team-a', password: 'two' });
      await until(async () => (await b.authenticate('team-a', 'two')).kind === 'ok', 2000, 'rotated');
      assert.equal((await b.authenticate('team-a', 'one')).kind, 'wrong-password', 'the old password stops');
      sim.delete('team-a', NAME);
      await until(async () => (await b.authenticate('team-a', 'two')).kind === 'no-match', 2000, 'deleted');
      assert.equal(await metric('tollgate_authn_k8s_watch_events_total', 'type="ADDED"'), 1);
      assert.equal(await metric('tollgate_authn_k8s_watch_events_total', 'type="MODIFIED"'), 1);
      assert.equal(await metric('tollgate_authn_k8s_watch_events_total', 'type="DELETED"'), 1);
    });

    it('a Secret changed to something unusable removes the old credential', async () => {
      sim.put('team-a', NAME, { username: 'team-a', password: 'one' });
      const b = await started();
      sim.put('team-a', NAME, { '.dockerconfigjson': 'not json' });
      await until(async () => (await b.authenticate('team-a', 'one')).kind === 'no-match', 2000, 'removed');
    });

    it('a dropped connection reconnects from the last resourceVersion and misses nothing', async () => {
      const b = await started();
      sim.dropWatches();
      sim.put('team-a', NAME, { username: 'team-a', password: 'pw' });
      await until(async () => (await b.authenticate('team-a', 'pw')).kind === 'ok', 2000, 'event sent while disconnected');
      const watches = sim.requests.filter((r) => r.path.includes('watch=1'));
      assert.ok(watches.length >= 2);
      assert.equal(await metric('tollgate_authn_k8s_relists_total'), 0, 'no relist needed');
      assert.ok(b.ready());
    });

    it('BOOKMARK moves the resourceVersion the next watch starts from', async () => {
      const b = await started();
      sim.put('elsewhere', 'unrelated', { a: 'b' });
      sim.put('elsewhere', 'unrelated', { a: 'c' });
      sim.bookmark();
      await until(async () => (await metric('tollgate_authn_k8s_watch_events_total', 'type="BOOKMARK"')) === 1, 2000, 'bookmark');
      sim.dropWatches();
      await until(() => sim.requests.filter((r) => r.path.includes('watch=1')).length === 2, 2000, 'second watch');
      const second = sim.requests.filter((r) => r.path.includes('watch=1'))[1]!;
      assert.match(second.path, /resourceVersion=102&/);
      assert.ok(b.ready());
    });

    for (const goneAs of ['error-event', 'status'] as const) {
      it(`410 Gone (${goneAs}) lists again and picks up what changed meanwhile`, async () => {
        sim.goneAs = goneAs;
        sim.put('team-a', NAME, { username: 'team-a', password: 'old' });
        const b = await started();
        sim.dropWatches();
        // Change while no watch is open, then compact: the watcher's resourceVersion is now too old.
        sim.failNext('watch', { status: 503 });
        sim.put('team-a', NAME, { username: 'team-a', password: 'new' });
        sim.put('team-b', NAME, { username: 'team-b', password: 'b' });
        sim.compact();
        await until(async () => (await metric('tollgate_authn_k8s_relists_total')) === 1, 3000, 'relist');
        await until(async () => (await b.authenticate('team-a', 'new')).kind === 'ok', 2000, 'new password after relist');
        assert.equal((await b.authenticate('team-a', 'old')).kind, 'wrong-password');
        assert.equal((await b.authenticate('team-b', 'b')).kind, 'ok');
      });
    }

    it('an ERROR event (500) reconnects and counts an error; the table keeps serving', async () => {
      sim.put('team-a', NAME, { username: 'team-a', password: 'pw' });
      const b = await started();
      sim.sendError(500);
      await until(() => sim.requests.filter((r) => r.path.includes('watch=1')).length === 2, 2000, 'reconnect');
      assert.equal(await metric('tollgate_authn_k8s_errors_total', 'kind="watch"'), 1);
      assert.equal(await metric('tollgate_authn_k8s_watch_events_total', 'type="ERROR"'), 1);
      assert.equal((await b.authenticate('team-a', 'pw')).kind, 'ok');
    });

    it('a garbage line breaks the watch and it reconnects', async () => {
      const b = await started();
      sim.sendRaw('this is not json\n');
      await until(() => sim.requests.filter((r) => r.path.includes('watch=1')).length === 2, 2000, 'reconnect');
      sim.put('team-a', NAME, { username: 'team-a', password: 'pw' });
      await until(async () => (await b.authenticate('team-a', 'pw')).kind === 'ok', 2000, 'works after');
    });

    it('a watch held open past its timeoutSeconds is aborted and reconnects', async () => {
      sim.brokenWatch = 'proxy-hold';
      open({ informer: { watchTimeoutSec: 1 } });
      await backend!.synced();
      const t0 = Date.now();
      await until(() => sim.requests.filter((r) => r.path.includes('watch=1')).length >= 2, 4000, 'reconnect after the deadline');
      assert.ok(Date.now() - t0 >= 1000, 'not before the timeoutSeconds asked for');
      assert.equal(await metric('tollgate_authn_k8s_errors_total', 'kind="watch"'), 1);
    });
  });

  describe('fail closed', () => {
    it('before the first list: logins throw (503 upstream); API 403, 500, garbage and a hang are retried, bounded', async () => {
      sim.failNext('list', { status: 403 });
      sim.failNext('list', { status: 500 });
      sim.failNext('list', 'garbage');
      sim.failNext('list', 'hang');
      sim.put('team-a', NAME, { username: 'team-a', password: 'pw' });
      const b = open({ informer: { listTimeoutMs: 300 } });
      await assert.rejects(b.authenticate('team-a', 'pw'), /not ready/);
      await assert.rejects(Promise.resolve(b.lookup('namespace:team-a')), /not ready/);
      assert.equal(b.ready(), false);
      await until(() => b.ready(), 5000, 'ready after the faults');
      assert.equal((await b.authenticate('team-a', 'pw')).kind, 'ok');
      assert.ok((await metric('tollgate_authn_k8s_errors_total', 'kind="list"')) >= 4);
    });

    it('a wrong API token (401) keeps it not ready; the rotated token file is re-read', async () => {
      writeFileSync(tokenFile, 'stale-token');
      sim.put('team-a', NAME, { username: 'team-a', password: 'pw' });
      const b = open();
      await new Promise((r) => setTimeout(r, 150));
      assert.equal(b.ready(), false);
      writeFileSync(tokenFile, sim.token);
      await until(() => b.ready(), 3000, 'ready with the new token');
    });

    it('a watch broken longer than the bound fails closed; it recovers when the API does', async () => {
      sim.put('team-a', NAME, { username: 'team-a', password: 'pw' });
      const b = open({ informer: { staleAfterMs: 300 } });
      await b.synced();
      await until(() => sim.watcherCount === 1, 2000, 'watch open');
      sim.failNext('watch', { status: 500 }, 1000);
      sim.failNext('list', { status: 500 }, 1000);
      sim.dropWatches();
      await new Promise((r) => setTimeout(r, 100));
      assert.equal((await b.authenticate('team-a', 'pw')).kind, 'ok', 'within the bound the table still answers');
      await until(() => !b.ready(), 2000, 'stale');
      await assert.rejects(b.authenticate('team-a', 'pw'), /not ready/);
      assert.equal(await metric('tollgate_authn_k8s_ready'), 0);
      sim.clearFaults();
      await until(() => b.ready(), 3000, 'recovered');
      assert.equal((await b.authenticate('team-a', 'pw')).kind, 'ok');
      assert.equal(await metric('tollgate_authn_k8s_ready'), 1);
    });
  });

  describe('get mode', () => {
    it('GETs a namespace once, caches a hit and a miss, and fails closed on API errors', async () => {
      sim.put('team-a', NAME, { username: 'team-a', password: 'pw' });
      backend = createK8sSecretsBackend({ conn: { baseUrl: new URL(sim.url), tokenFile }, logger, registry, mode: 'get' });
      const b = backend;
      assert.equal(b.ready(), true, 'no list to wait for');
      assert.equal((await b.authenticate('team-a', 'pw')).kind, 'ok');
      assert.equal((await b.authenticate('team-a', 'pw')).kind, 'ok');
      assert.equal((await b.authenticate('team-a', 'bad')).kind, 'wrong-password');
      assert.equal((await b.authenticate('team-b', 'pw')).kind, 'no-match');
      assert.equal((await b.authenticate('team-b', 'pw')).kind, 'no-match');
      assert.deepEqual(sim.requests.map((r) => r.path), [`/api/v1/namespaces/team-a/secrets/${NAME}`, `/api/v1/namespaces/team-b/secrets/${NAME}`]);
      sim.failNext('get', { status: 403 });
      await assert.rejects(b.authenticate('team-c', 'pw'), /403/);
      sim.failNext('get', { status: 500 });
      await assert.rejects(b.authenticate('team-d', 'pw'), /500/);
      // A 200 whose body is not a Secret is an unusable Secret: a miss (401), counted, not an outage.
      sim.failNext('get', 'garbage');
      assert.equal((await b.authenticate('team-e', 'pw')).kind, 'no-match');
      assert.equal(await metric('tollgate_authn_k8s_errors_total', 'kind="get"'), 2);
      assert.equal(await metric('tollgate_authn_k8s_errors_total', 'kind="invalid_secret"'), 1);
    });

    it('cache lifetimes: a hit ≤ 30 s, a miss ≤ 10 s', async () => {
      const { SecretGetter } = await import('../src/credentials/k8s-secrets/get-mode.js');
      const { createK8sMetrics } = await import('../src/credentials/k8s-secrets/metrics.js');
      let now = 0;
      const g = new SecretGetter({ kube: client(), secretName: NAME, logger, metrics: createK8sMetrics(() => true), now: () => now });
      assert.equal(await g.get('team-a'), null);
      sim.put('team-a', NAME, { username: 'team-a', password: 'pw' });
      now = 9_999;
      assert.equal(await g.get('team-a'), null, 'miss still cached');
      now = 10_001;
      assert.equal((await g.get('team-a'))?.password, 'pw', 'created Secret seen after 10 s');
      sim.delete('team-a', NAME);
      now = 40_000;
      assert.equal((await g.get('team-a'))?.password, 'pw', 'hit cached');
      now = 40_002;
      assert.equal(await g.get('team-a'), null, 'deleted Secret gone after 30 s');
    });

    it('a hanging API is bounded by the request timeout', async () => {
      const { SecretGetter } = await import('../src/credentials/k8s-secrets/get-mode.js');
      const { createK8sMetrics } = await import('../src/credentials/k8s-secrets/metrics.js');
      const g = new SecretGetter({ kube: client(), secretName: NAME, logger, metrics: createK8sMetrics(() => true), timeoutMs: 200 });
      sim.failNext('get', 'hang');
      const t0 = Date.now();
      await assert.rejects(g.get('team-a'), /timed out/);
      assert.ok(Date.now() - t0 < 2000);
    });
  });

  describe('through the token endpoint', () => {
    let keys: KeySet;
    let authz: StandInAuthz;
    let t: TestApp;
    let creds: Credentials;
    const S = 'registry.test';

    beforeEach(async () => {
      keys = await makeKeys(tmp.dir);
      authz = await new StandInAuthz(tableRule({ 'namespace:team-a': { 'team-a/': ['pull', 'push'] }, alice: { '*': ['pull'] } })).start();
    });
    /** Starts the app (and the backend's list) now, after the test has set up the API server. */
    async function start(): Promise<void> {
      const users = join(tmp.dir, 'users.yaml');
      writeFileSync(users, `users:\n  alice:\n    password: "${bcrypt.hashSync('alice-pw', 4)}"\n`);
      const metrics = createMetrics(false);
      registry = metrics.registry;
      const b = createK8sSecretsBackend({ conn: { baseUrl: new URL(sim.url), tokenFile }, logger, registry, informer: FAST });
      backend = b;
      creds = await createCredentials({ logger, usersFile: users, watch: { watch: false, pollMs: 0 }, k8sSecrets: b });
      t = testApp({ keys, authzUrl: authz.url, credentials: creds, metrics });
    }
    afterEach(async () => {
      t?.authzClient.close();
      creds?.close();
      await authz.stop();
    });

    const get = (user: string, pw: string, extra = '') => request(t.app).get(`/auth?service=${S}&scope=repository:team-a/app:pull,push${extra}`).set('Authorization', basic(user, pw));

    it('before the first list: 503 with Retry-After for namespace logins, users-file users unaffected, /readyz says why', async () => {
      sim.failNext('list', { status: 500 }, 1000);
      await start();
      const res = await get('team-a', 'pw').expect(503);
      assert.ok(Number(res.headers['retry-after']) >= 1);
      await get('alice', 'alice-pw').expect(200);
      const ready = await request(t.app).get('/readyz').expect(503);
      assert.equal(ready.body.checks['k8s-secrets'], false);
      assert.equal(ready.body.checks.authz, true);
    });

    it('a namespace gets what authz grants its account; the client may name itself by the namespace', async () => {
      sim.put('team-a', NAME, { username: 'team-a', password: 'pw' });
      await start();
      await backend!.synced();
      const res = await get('team-a', 'pw', '&account=team-a').expect(200);
      const claims = JSON.parse(Buffer.from(String(res.body.token).split('.')[1]!, 'base64url').toString()) as { sub: string; access: { name: string; actions: string[] }[] };
      assert.equal(claims.sub, 'namespace:team-a');
      assert.deepEqual(claims.access, [{ type: 'repository', name: 'team-a/app', actions: ['pull', 'push'] }]);
      assert.equal(authz.requests.at(-1)?.Account, 'namespace:team-a');
      assert.deepEqual(authz.requests.at(-1)?.Labels, { namespace: ['team-a'], credential: ['k8s-secret'] });
      await get("team-a", "nope").expect(401);
      await request(t.app).get('/readyz').expect(200);
      const metrics = await request(t.app).get('/metrics').expect(200);
      assert.match(metrics.text, /^tollgate_authn_k8s_secrets 1$/m);
      assert.match(metrics.text, /^tollgate_authn_k8s_ready 1$/m);
    });

    it('refresh tokens stop when the Secret\'s password changes', async () => {
      sim.put('team-a', NAME, { username: 'team-a', password: 'pw' });
      await start();
      await backend!.synced();
      await until(() => sim.watcherCount === 1, 2000, 'watch open');
      const rt = (await get('team-a', 'pw', '&offline_token=true&client_id=docker').expect(200)).body.refresh_token as string;
      const refresh = () => request(t.app).post('/auth').type('form').send({ grant_type: 'refresh_token', refresh_token: rt, client_id: 'docker', service: S, scope: 'repository:team-a/app:pull' });
      await refresh().expect(200);
      sim.put('team-a', NAME, { username: 'team-a', password: 'rotated' });
      await until(async () => (await refresh()).status === 401, 2000, 'refresh refused');
      await get('team-a', 'rotated').expect(200);
    });
  });

  describe('in-cluster connection over TLS', () => {
    /** A self-signed certificate for 127.0.0.1 (openssl, as scripts/gen-certs.sh uses). */
    function selfSigned(name: string): { key: string; cert: string; certFile: string } {
      const keyFile = join(tmp.dir, `${name}.key`);
      const certFile = join(tmp.dir, `${name}.crt`);
      const r = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1', '-subj', '/CN=kubernetes', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', keyFile, '-out', certFile], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      return { key: readFileSync(keyFile, 'utf8'), cert: readFileSync(certFile, 'utf8'), certFile };
    }

    it('service host/port env, the mounted token and CA: lists over https; another CA is refused (never ready)', async () => {
      const server = selfSigned('apiserver');
      const other = selfSigned('other');
      const tls = await new SimulatedKubeApi(NAME).start(server);
      try {
        tls.put('team-a', NAME, { username: 'team-a', password: 'pw' });
        writeFileSync(tokenFile, tls.token);
        const env = { KUBERNETES_SERVICE_HOST: '127.0.0.1', KUBERNETES_SERVICE_PORT: new URL(tls.url).port };
        const good = createK8sSecretsBackend({ conn: resolveConnection({ tokenFile, caFile: server.certFile }, env), logger, registry: new Registry(), informer: FAST });
        try {
          await good.synced();
          assert.equal((await good.authenticate('team-a', 'pw')).kind, 'ok');
        } finally {
          await good.close();
        }
        const seen = tls.requests.length;
        const bad = createK8sSecretsBackend({ conn: resolveConnection({ tokenFile, caFile: other.certFile }, env), logger, registry: new Registry(), informer: FAST });
        try {
          await new Promise((r) => setTimeout(r, 300));
          assert.equal(bad.ready(), false);
          assert.equal(tls.requests.length, seen, 'no request (and no token) sent to a server the CA does not vouch for');
        } finally {
          await bad.close();
        }
      } finally {
        await tls.stop();
      }
    });
  });

  describe('configuration', () => {
    const base = { key: 'k.pem' };
    it('--k8s-secrets alone is a credential source; defaults are rauth-shaped', () => {
      const c = loadConfig({ ...base, k8sSecrets: true }, {});
      assert.equal(c.k8sSecretName, 'tollgate-registry');
      assert.equal(c.k8sAccountPrefix, 'namespace:');
      assert.equal(c.k8sSecretsMode, 'watch');
      assert.equal(c.k8sStaleAfterSec, 30);
      assert.equal(loadConfig({ ...base }, { TOLLGATE_AUTHN_K8S_SECRETS: 'true', TOLLGATE_AUTHN_K8S_SECRET_NAME: 'devbox-registry' }).k8sSecretName, 'devbox-registry');
    });
    it('refuses bad values with the flag named', () => {
      assert.throws(() => loadConfig({ ...base, k8sSecrets: true, k8sApiUrl: 'http://10.0.0.1:6443' }, {}), /--k8s-api-url.*loopback/);
      assert.doesNotThrow(() => loadConfig({ ...base, k8sSecrets: true, k8sApiUrl: 'http://127.0.0.1:6443' }, {}));
      assert.doesNotThrow(() => loadConfig({ ...base, k8sSecrets: true, k8sApiUrl: 'http://127.8.0.1:6443' }, {}));
      // A DNS name that merely starts like a loopback address is not one.
      assert.throws(() => loadConfig({ ...base, k8sSecrets: true, k8sApiUrl: 'http://127.example.com:6443' }, {}), /--k8s-api-url.*loopback/);
      assert.throws(() => loadConfig({ ...base, k8sSecrets: true, k8sAccountPrefix: 'ns-' }, {}), /--k8s-account-prefix.*":"/);
      assert.throws(() => loadConfig({ ...base, k8sSecrets: true, k8sSecretsMode: 'poll' }, {}), /--k8s-secrets-mode/);
      assert.throws(() => loadConfig({ ...base, k8sSecrets: true, k8sSecretName: 'Bad_Name' }, {}), /--k8s-secret-name/);
      assert.throws(() => loadConfig({ ...base, k8sSecrets: true, k8sStaleAfter: '1s' }, {}), /--k8s-stale-after/);
    });
    it('in-cluster needs the service env and the mounted CA', () => {
      assert.throws(() => resolveConnection({}, {}), /KUBERNETES_SERVICE_HOST.*--k8s-api-url/);
      assert.throws(() => resolveConnection({ caFile: join(tmp.dir, 'missing.crt') }, { KUBERNETES_SERVICE_HOST: '10.0.0.1', KUBERNETES_SERVICE_PORT: '443' }), /CA/);
      const ca = join(tmp.dir, 'ca.crt');
      writeFileSync(ca, 'pem');
      const c = resolveConnection({ caFile: ca }, { KUBERNETES_SERVICE_HOST: 'fd00::1', KUBERNETES_SERVICE_PORT: '443' });
      assert.equal(c.baseUrl.href, 'https://[fd00::1]/');
      assert.equal(c.tokenFile, '/var/run/secrets/kubernetes.io/serviceaccount/token');
    });
  });
});
