/**
 * `tollgate controller` end to end: the SIMULATED Kubernetes API server (kube-api-sim, with a SIMULATED
 * cluster issuer behind TokenRequest, trusted by authn through its issuers file) — the only stand-ins —
 * and the real controller process, authz, authn, registry 2.8 and skopeo. The controller's authz token
 * is a scoped API token (`robots:manage` on every namespace), as the manifests ship it — never the admin token.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeJwt } from 'jose';
import { outDir, uniqueImage, useStack, REGISTRY_DENIED } from '../harness/fixture.js';
import { KubeApiSim } from '../harness/kube-api-sim.js';
import { freePort, Proc, ROOT, sleep } from '../harness/procs.js';
import { SimulatedIssuer } from '../harness/simulated-issuer.js';
import { waitFor } from '../../controller/test/helpers.js';
import { Skopeo } from '../harness/skopeo.js';
import { SERVICE, tollgate, type Stack } from '../harness/stack.js';

/**
 * authn's documented robot freshness bound (docs/authn.md § Caching: a robot change reaches authn through
 * the change feed within 1 s) plus a loose margin for a busy CI machine.
 */
const ROBOT_FRESHNESS_MS = 1_000 + 3_000;
const CRS = '/apis/registry.tollgate.dev/v1alpha1/namespaces';

const until = waitFor;

describe('e2e: tollgate controller — SIMULATED Kubernetes API server and cluster issuer, real controller/authz/authn/registry/skopeo', function () {
  this.timeout(180_000);
  const issuer = new SimulatedIssuer('RS256');
  const sim = new KubeApiSim({ issuer, maxTokenExpirationSeconds: 15 });
  let controller: Proc | undefined;
  before(async () => {
    await issuer.start();
    await sim.start();
    for (const ns of ['team-a', 'team-b', 'prod']) sim.put(`/api/v1/namespaces/${ns}/serviceaccounts`, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default' } });
    sim.put('/api/v1/namespaces/team-a/serviceaccounts', { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'builder' } });
  });
  after(async () => {
    await controller?.stop();
    await sim.stop();
    await issuer.stop();
  });

  const stack = useStack(
    ['skopeo'],
    { issuers: () => ({ issuers: [{ name: 'cluster-a', usernames: ['k8s'], issuer: issuer.url, audiences: [SERVICE], insecure: true }] }) },
    async (s: Stack) => {
      await s.addRole('all', [{ request_type: 'repository', name: '**', actions: ['*'] }]);
      await s.bind('root', 'all');
      const admin = ['--url', s.authzUrl, '--token-file', join(s.dir, 'admin.token')];
      await tollgate(['role', 'add', 'ns-pull', '--permission', '{"name":"${labels:namespace}/**","actions":["pull"]}', ...admin]);
      await tollgate(['binding', 'add', 'system:serviceaccount:*', 'ns-pull', ...admin]);
      const token = (await tollgate(['token', 'create', 'controller', '--namespace', '*', '--ability', 'robots:manage', ...admin])).trim();
      writeFileSync(join(s.dir, 'controller.token'), `${token}\n`, { mode: 0o600 });
    },
  );

  let probe = '';
  async function startController(s: Stack): Promise<void> {
    const port = await freePort();
    probe = `http://127.0.0.1:${port}`;
    controller = new Proc({
      name: 'controller',
      cmd: process.execPath,
      args: ['--import', 'tsx', join(ROOT, 'cli', 'tollgate.ts'), 'controller', '--listen', `127.0.0.1:${port}`, '--k8s-api-url', sim.url,
        '--authz-url', s.authzUrl, '--authz-token-file', join(s.dir, 'controller.token'), '--registry-host', s.registry!.host, '--audience', SERVICE,
        '--allow-push', 'team-*', '--lease-namespace', 'tollgate', '--identity', 'e2e-controller'],
      logFile: join(s.dir, `controller-${Date.now()}.log`),
      dropEnv: /^TOLLGATE_CONTROLLER_/,
    });
  }

  const secret = (ns: string, name: string, host: string) => {
    const raw = (sim.store.get('secrets', ns, name) as { data?: Record<string, string> } | undefined)?.data?.['.dockerconfigjson'];
    const e = raw ? (JSON.parse(Buffer.from(raw, 'base64').toString()) as { auths: Record<string, { username: string; password: string }> }).auths[host] : undefined;
    return e ? { user: e.username, password: e.password } : undefined;
  };
  const ready = (ns: string, name: string) => ((sim.store.get('registrycredentials', ns, name)?.status as { conditions?: Array<{ type: string; status: string; reason: string; message: string }> } | undefined)?.conditions ?? []).find((c) => c.type === 'Ready');
  const apply = (ns: string, name: string, spec: Record<string, unknown>) => sim.put(`${CRS}/${ns}/registrycredentials`, { apiVersion: 'registry.tollgate.dev/v1alpha1', kind: 'RegistryCredential', metadata: { name }, spec });
  /** authn's answer to a Basic login for a pull of `repo` (what `docker login` + pull would get). */
  const login = async (s: Stack, c: { user: string; password: string }, repo = 'team-a/app') => {
    const r = await fetch(`${s.authnUrl}/auth?service=${SERVICE}&scope=repository:${repo}:pull`, { headers: { authorization: `Basic ${Buffer.from(`${c.user}:${c.password}`).toString('base64')}` } });
    return r.status;
  };

  it('a Robot CR → within 5 s a Secret whose credentials push and pull team-a only; the service account references it; Ready', async () => {
    const s = stack();
    await startController(s);
    const t0 = Date.now();
    apply('team-a', 'ci', { type: 'Robot', actions: ['pull', 'push'], serviceAccounts: ['default'], rotateEvery: '20s', overlap: '10s' });
    const creds = await until('Secret and Ready', () => (ready('team-a', 'ci')?.status === 'True' ? secret('team-a', 'ci-registry', s.registry!.host) : undefined), 5000);
    assert.ok(Date.now() - t0 <= 5000);
    assert.deepEqual((sim.store.get('serviceaccounts', 'team-a', 'default') as { imagePullSecrets?: unknown }).imagePullSecrets, [{ name: 'ci-registry' }]);
    const sk = new Skopeo(s.home('ci'));
    const img = uniqueImage(s, 'ctl-a');
    const pushed = await sk.push(img.dir, 'v1', s.ref('team-a/app'), creds);
    assert.equal(pushed.code, 0, pushed.out);
    const pulled = await sk.pull(s.ref('team-a/app'), outDir(s, 'ctl-a'), creds);
    assert.equal(pulled.code, 0, pulled.out);
    const other = uniqueImage(s, 'ctl-b');
    assert.equal((await new Skopeo(s.home('root')).push(other.dir, 'v1', s.ref('team-b/app'), stack.creds('root'))).code, 0);
    const denied = await sk.pull(s.ref('team-b/app'), outDir(s, 'ctl-b'), creds);
    assert.notEqual(denied.code, 0);
    assert.match(denied.out, REGISTRY_DENIED);
    const pushB = await sk.push(img.dir, 'v1', s.ref('team-b/app'), creds);
    assert.notEqual(pushB.code, 0, 'team-a\'s robot cannot push to team-b');
    assert.equal((await fetch(`${probe}/readyz`)).status, 200);
    assert.match(await (await fetch(`${probe}/metrics`)).text(), /tollgate_controller_events_total\{reason="Created"\} 1/);
  });

  it('rotateEvery 20s, overlap 10s: the Secret changes, the new password works at once, the old one during the overlap and is refused after it', async () => {
    const s = stack();
    const first = secret('team-a', 'ci-registry', s.registry!.host)!;
    const second = await until('rotation', () => {
      const c = secret('team-a', 'ci-registry', s.registry!.host);
      return c && c.password !== first.password ? c : undefined;
    }, 30_000);
    const rotatedAt = Date.now();
    const sk = new Skopeo(s.home('ci'));
    const pull = await sk.pull(s.ref('team-a/app'), outDir(s, 'ctl-rot-new'), second);
    assert.equal(pull.code, 0, pull.out);
    assert.equal(await login(s, first), 200, 'the old password works during the overlap');
    // authn may answer from its robot success cache until the freshness bound after the overlap ends.
    await until('old password refused after the overlap', async () => (await login(s, first)) === 401, 10_000 + ROBOT_FRESHNESS_MS);
    assert.ok(Date.now() - rotatedAt >= 8_000, 'not refused before the overlap ended');
    assert.equal(await login(s, second), 200);
  });

  it('a controller restart neither duplicates the robot nor rotates early', async () => {
    const s = stack();
    const before = secret('team-a', 'ci-registry', s.registry!.host)!;
    const nextRotation = () => (sim.store.get('registrycredentials', 'team-a', 'ci')!.status as { nextRotation: string }).nextRotation;
    const planned = nextRotation();
    const next = Date.parse(planned);
    await controller!.stop();
    await startController(s);
    await sleep(1500);
    if (next - Date.now() > 1000) {
      // Not due yet: the restarted controller keeps the Secret and the plan.
      assert.deepEqual(secret('team-a', 'ci-registry', s.registry!.host), before);
      assert.equal(nextRotation(), planned);
    } else {
      // Due during the restart: a rotation then is on time; the next one is planned after it, never earlier.
      assert.ok(Date.parse(nextRotation()) >= next, `next rotation ${nextRotation()} not before the planned ${planned}`);
    }
    const robots = (await (await fetch(`${s.authzUrl}/robots?namespace=team-a`, { headers: { authorization: `Bearer ${s.adminToken}` } })).json()) as { robots: unknown[] };
    assert.equal(robots.robots.length, 1);
  });

  it('a CR asking push in a namespace outside --allow-push → Ready=False, no credential', async () => {
    apply('prod', 'ci', { type: 'Robot', actions: ['pull', 'push'] });
    const c = await until('Ready=False', () => ready('prod', 'ci'), 5000);
    assert.equal(c.status, 'False');
    assert.match(c.message, /spec\.actions/);
    assert.equal(sim.store.get('secrets', 'prod', 'ci-registry'), undefined);
  });

  it('a ServiceAccountToken CR → a TokenRequest JWT with the right audience that authn accepts: team-a pulls, team-b is denied; refreshed before it expires', async () => {
    const s = stack();
    apply('team-a', 'pods', { type: 'ServiceAccountToken', serviceAccountName: 'builder', expirationSeconds: 600 });
    const creds = await until('Secret', () => secret('team-a', 'pods-registry', s.registry!.host), 5000);
    assert.equal(creds.user, 'k8s');
    const claims = decodeJwt(creds.password);
    assert.deepEqual(claims.aud, [SERVICE]);
    const sk = new Skopeo(s.home('pods'));
    const pull = await sk.pull(s.ref('team-a/app'), outDir(s, 'ctl-sa'), creds);
    assert.equal(pull.code, 0, pull.out);
    const denied = await sk.pull(s.ref('team-b/app'), outDir(s, 'ctl-sa-b'), creds);
    assert.notEqual(denied.code, 0);
    assert.match(denied.out, REGISTRY_DENIED);
    const fresh = await until('refresh', () => {
      const c = secret('team-a', 'pods-registry', s.registry!.host);
      return c && c.password !== creds.password ? c : undefined;
    }, 15_000);
    assert.ok(Date.now() / 1000 < claims.exp!, 'refreshed before expiry');
    assert.equal(await login(s, fresh), 200);
  });

  it('delete the CR → robot gone (login refused within authn\'s robot freshness bound), Secret gone, references gone', async () => {
    const s = stack();
    const creds = secret('team-a', 'ci-registry', s.registry!.host)!;
    assert.equal(await login(s, creds), 200);
    sim.store.remove('registrycredentials', 'team-a', 'ci');
    await until('CR gone', () => !sim.store.get('registrycredentials', 'team-a', 'ci'), 5000);
    const t0 = Date.now();
    assert.equal(sim.store.get('secrets', 'team-a', 'ci-registry'), undefined);
    assert.deepEqual((sim.store.get('serviceaccounts', 'team-a', 'default') as { imagePullSecrets?: unknown[] }).imagePullSecrets ?? [], []);
    await until('login refused', async () => (await login(s, creds)) === 401, ROBOT_FRESHNESS_MS);
    process.stderr.write(`      (robot login refused ${Date.now() - t0} ms after the CR was gone)\n`);
  });
});
