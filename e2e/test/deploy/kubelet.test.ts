/**
 * Kubernetes without a cluster: every Deployment that `kubectl kustomize k8s/` (and the production
 * overlay) renders is started kubelet-style with docker (e2e/harness/kubelet.ts), key material from
 * `scripts/k8s-deploy.sh --render-secrets`; init containers first, then every readiness and liveness
 * probe as declared, then a push and a pull through the resulting registry. The containers and probes
 * are real, the scheduler is not: SIMULATED-KUBELET.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import { kubectlMissingHint, parseObjects, render, type K8sObject } from '../../../deploy-test/helpers/k8s.js';
import { sharedEngine, http, type Engine } from '../../harness/engine.js';
import { requireBins, REGISTRY_DENIED } from '../../harness/fixture.js';
import { Kubelet } from '../../harness/kubelet.js';
import { Proc, ROOT, run, tempDir } from '../../harness/procs.js';
import { makeOciImage } from '../../../scripts/make-oci-image.js';

const ORDER = ['tollgate-authz', 'tollgate-authn', 'tollgate-registry'];
const users = { alice: 'alice-pw-kubelet', bob: 'bob-pw-kubelet' };

describe('deploy: SIMULATED-KUBELET pods of k8s/ run as real containers', function () {
  this.timeout(600_000);
  const t = tempDir('tollgate-kubelet-');
  let e: Engine;
  let secrets: K8sObject[];
  let adminToken: string;

  before(async function () {
    this.timeout(1_800_000);
    requireBins(this, ['dockerd', 'docker', 'skopeo', 'curl', 'nsenter', 'kubectl']);
    const hint = kubectlMissingHint();
    if (hint) throw new Error(hint);
    e = await sharedEngine();
    const certs = join(t.dir, 'certs');
    assert.equal((await run('bash', [join(ROOT, 'scripts', 'gen-certs.sh'), '--out', certs])).code, 0);
    writeFileSync(join(certs, 'users.yaml'), `users:\n${Object.entries(users).map(([u, pw]) => `  ${u}:\n    password: "${bcrypt.hashSync(pw, 4)}"\n`).join('')}`);
    const r = await run('bash', [join(ROOT, 'scripts', 'k8s-deploy.sh'), '--render-secrets', '--certs', certs]);
    assert.equal(r.code, 0, r.out);
    // What the cluster itself puts in every namespace: the kube-root-ca.crt ConfigMap (stand-in: the dev CA).
    const rootCa = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'kube-root-ca.crt', namespace: 'tollgate' }, data: { 'ca.crt': readFileSync(join(certs, 'ca.crt'), 'utf8') } };
    secrets = [...parseObjects(r.stdout), rootCa];
    const tokens = secrets.find((o) => o.metadata.name === 'tollgate-authz-tokens') as { data: Record<string, string> } | undefined;
    adminToken = Buffer.from(tokens?.data['admin.token'] ?? '', 'base64').toString().trim();
  });
  after(() => t.cleanup());

  /** Image pull: references that cannot be pulled here map to the images built by this run. */
  const image = (ref: string): string => (/(^|\/)registry(:|$)/.test(ref) ? e.images.registry : /tollgate/.test(ref) ? e.images.tollgate : ref);

  async function runAll(dir: string, objects: K8sObject[], publish: Record<string, string[]>): Promise<Kubelet> {
    const net = `k8s-${Math.random().toString(36).slice(2, 8)}`;
    assert.equal((await e.docker(['network', 'create', net])).code, 0);
    const k = new Kubelet(e, join(t.dir, dir), [...objects, ...secrets], net, image, (l) => process.stdout.write(`      [kubelet] ${l}\n`));
    const deployments = objects.filter((o) => o.kind === 'Deployment') as unknown as IDeployment[];
    assert.deepEqual(deployments.map((d) => d.metadata?.name).sort(), [...ORDER].sort());
    // Applied at once, as `kubectl apply -k` does: the init containers must establish the order.
    await Promise.all(deployments.map(async (d) => {
      const pods = [];
      for (let i = 0; i < (d.spec?.replicas ?? 1); i++) pods.push(await k.startPod(d, i, i === 0 ? publish[d.metadata?.name ?? ''] ?? [] : []));
      for (const pod of pods) for (const line of await k.waitReady(pod)) process.stdout.write(`      [kubelet] ${pod.name} ${line}\n`);
    }));
    return k;
  }

  async function removeAll(k: Kubelet | undefined): Promise<void> {
    await k?.stopAll();
    await e.docker(['network', 'rm', k?.network ?? '']);
  }

  it('SIMULATED-KUBELET: k8s/ — init containers, readiness + liveness probes, runAsUser 1000 read-only; skopeo push/pull through the registry pod', async () => {
    const objects = render('k8s');
    let k: Kubelet | undefined;
    try {
      // kubectl port-forward of docs/deploy.md "Trying it without an Ingress": authn :5002, registry :5000.
      k = await runAll('base', objects, { 'tollgate-authn': ['127.0.0.1:5002:5002'], 'tollgate-registry': ['127.0.0.1:5000:5000'] });
      for (const pod of k.pods) {
        for (const id of Object.values(pod.containers)) {
          const i = await e.inspect<{ Config: { User: string }; HostConfig: { ReadonlyRootfs: boolean; CapDrop: string[] }; State: { Running: boolean } }>(id);
          assert.ok(i.State.Running, pod.name);
          assert.equal(i.Config.User, '1000:1000', pod.name);
          assert.equal(i.HostConfig.ReadonlyRootfs, true, pod.name);
          assert.deepEqual(i.HostConfig.CapDrop, ['ALL'], pod.name);
        }
      }
      // Roles through the authz pod's address (the admin API is cluster-internal).
      const authz = k.pods.find((p) => p.deployment === 'tollgate-authz');
      const admin = (path: string, json: unknown) => http(e, `http://${authz?.ip}:5001${path}`, { method: 'POST', bearer: adminToken, json });
      assert.equal((await admin('/add-role', { name: 'ns-rw', permissions: [{ request_type: 'repository', name: '${namespace}/**', actions: ['pull', 'push'] }] })).status, 201);
      assert.ok((await admin('/add-role-binding', { account_name: 'alice', role_name: 'ns-rw', namespace: 'team-a' })).status < 300);

      const img = makeOciImage(join(t.dir, 'img'), 'v1', { files: { 'k.txt': `kubelet ${Date.now()}\n` } });
      const home = join(t.dir, 'skopeo');
      const skopeo = (args: string[]) => e.inNet('skopeo', args, { env: { HOME: home, REGISTRY_AUTH_FILE: join(home, 'auth.json'), XDG_RUNTIME_DIR: home } });
      await run('mkdir', ['-p', home]);
      writeFileSync(join(home, 'auth.json'), '{}');
      const push = await skopeo(['copy', '--dest-tls-verify=false', '--dest-creds', `alice:${users.alice}`, `oci:${img.dir}:v1`, 'docker://127.0.0.1:5000/team-a/app:v1']);
      assert.equal(push.code, 0, push.out);
      const pull = await skopeo(['copy', '--src-tls-verify=false', '--src-creds', `alice:${users.alice}`, 'docker://127.0.0.1:5000/team-a/app:v1', `oci:${join(t.dir, 'pulled')}:x`]);
      assert.equal(pull.code, 0, pull.out);
      const denied = await skopeo(['copy', '--src-tls-verify=false', '--src-creds', `bob:${users.bob}`, 'docker://127.0.0.1:5000/team-a/app:v1', `oci:${join(t.dir, 'pulled-bob')}:x`]);
      assert.match(denied.out, REGISTRY_DENIED);
    } finally {
      await removeAll(k);
    }
  });

  it('SIMULATED-KUBELET: rolling update of authn as shipped (maxSurge/maxUnavailable, PDB) under a skopeo pull loop: zero failed pulls', async () => {
    const objects = render('k8s');
    const authn = objects.find((o) => o.kind === 'Deployment' && o.metadata.name === 'tollgate-authn') as unknown as IDeployment;
    const pdb = objects.find((o) => o.kind === 'PodDisruptionBudget') as unknown as { spec: { minAvailable: number } };
    const ru = authn.spec?.strategy?.rollingUpdate;
    const replicas = authn.spec?.replicas ?? 1;
    const surge = Number(ru?.maxSurge ?? 1);
    const unavailable = Number(ru?.maxUnavailable ?? 0);
    assert.ok(surge >= 1, 'a rolling update with maxSurge 0 takes a pod away before its successor is ready');
    let k: Kubelet | undefined;
    const endpointsFile = join(t.dir, 'authn-endpoints.json');
    const setEndpoints = (ips: string[]) => writeFileSync(endpointsFile, JSON.stringify(ips.map((ip) => `${ip}:5002`)));
    let proxy: Proc | undefined;
    try {
      k = await runAll('upgrade', objects, { 'tollgate-registry': ['127.0.0.1:5000:5000'] });
      const ready = () => k?.pods.filter((p) => p.deployment === 'tollgate-authn') ?? [];
      setEndpoints(ready().map((p) => p.ip));
      // The Service (kube-proxy, SIMULATED): 127.0.0.1:5002 → the ready authn pods, as the realm says.
      // nsenter execs node in place, so the PID is the proxy's own.
      proxy = new Proc({ name: 'service-proxy', cmd: 'nsenter', args: [`--net=/proc/${e.pid}/ns/net`, process.execPath, join(ROOT, 'e2e', 'harness', 'service-proxy.mjs'), '127.0.0.1:5002', endpointsFile], logFile: join(t.dir, 'service-proxy.log') });
      await proxy.waitFor((out) => out.includes('listening'), 'service proxy');
      const authz = k.pods.find((p) => p.deployment === 'tollgate-authz');
      const admin = (path: string, json: unknown) => http(e, `http://${authz?.ip}:5001${path}`, { method: 'POST', bearer: adminToken, json });
      await admin('/add-role', { name: 'ns-rw', permissions: [{ request_type: 'repository', name: '${namespace}/**', actions: ['pull', 'push'] }] });
      await admin('/add-role-binding', { account_name: 'alice', role_name: 'ns-rw', namespace: 'team-a' });
      const home = join(t.dir, 'skopeo-upgrade');
      await run('mkdir', ['-p', home, join(t.dir, 'pulls')]);
      writeFileSync(join(home, 'auth.json'), '{}');
      const skopeo = (args: string[]) => e.inNet('skopeo', args, { env: { HOME: home, REGISTRY_AUTH_FILE: join(home, 'auth.json'), XDG_RUNTIME_DIR: home } });
      const img = makeOciImage(join(t.dir, 'img-upgrade'), 'v1', { files: { 'u.txt': `upgrade ${Date.now()}\n` } });
      const push = await skopeo(['copy', '--dest-tls-verify=false', '--dest-creds', `alice:${users.alice}`, `oci:${img.dir}:v1`, 'docker://127.0.0.1:5000/team-a/up:v1']);
      assert.equal(push.code, 0, push.out);

      // Pull in a loop (each pull asks authn for a new token) while authn is replaced pod by pod.
      const failures: string[] = [];
      let pulls = 0;
      let stop = false;
      const loop = (async () => {
        while (!stop) {
          const r = await skopeo(['copy', '--src-tls-verify=false', '--src-creds', `alice:${users.alice}`, 'docker://127.0.0.1:5000/team-a/up:v1', `oci:${join(t.dir, 'pulls', String(pulls))}:x`]);
          pulls++;
          if (r.code !== 0) failures.push(r.out.trim().split('\n').at(-1) ?? '');
        }
      })();
      const started = Date.now();
      await new Promise((r) => setTimeout(r, 3000));
      const old = ready();
      let minReady = old.length;
      // One step per old pod: surge a new pod, wait for its readiness, then take an old one out of the
      // endpoints and stop it with the pod's grace period (what the Deployment controller + kubelet do).
      for (const [i, pod] of old.entries()) {
        const fresh = await k.startPod(authn, replicas + i);
        await k.waitReady(fresh);
        const live = ready().filter((p) => p !== pod);
        setEndpoints(live.map((p) => p.ip));
        minReady = Math.min(minReady, live.length);
        assert.ok(live.length >= replicas - unavailable && live.length >= pdb.spec.minAvailable, `only ${live.length} authn pods ready`);
        await e.docker(['stop', '-t', String(authn.spec?.template.spec?.terminationGracePeriodSeconds ?? 30), ...Object.values(pod.containers), pod.infra], { timeoutMs: 120_000 });
        k.pods.splice(k.pods.indexOf(pod), 1);
      }
      const seconds = ((Date.now() - started) / 1000).toFixed(1);
      await new Promise((r) => setTimeout(r, 3000));
      stop = true;
      await loop;
      process.stdout.write(`      [deploy] authn rolling update (${old.length} pods replaced, maxSurge ${surge}, maxUnavailable ${unavailable}, PDB minAvailable ${pdb.spec.minAvailable}) in ${seconds} s: ${pulls} pulls, ${failures.length} failed, never fewer than ${minReady} authn pods ready\n`);
      assert.deepEqual(failures.slice(0, 5), [], `${failures.length} of ${pulls} pulls failed`);
      assert.ok(pulls >= 3, `only ${pulls} pulls ran during the upgrade`);
    } finally {
      await proxy?.stop();
      await removeAll(k);
    }
  });

  it('SIMULATED-KUBELET: k8s/overlays/production — every pod (3 authn replicas) starts in order and passes its probes', async () => {
    // The controller (components/controller) talks to a Kubernetes API server, which a simulated kubelet has
    // none of: it is left out here; its manifests get the deploy-test checks (k8s-controller.test.ts) and its
    // behaviour the e2e controller suite against the SIMULATED API server.
    const objects = render('k8s/overlays/production').filter((o) => !(o.kind === 'Deployment' && o.metadata?.name === 'tollgate-controller'));
    let k: Kubelet | undefined;
    try {
      k = await runAll('production', objects, {});
      assert.equal(k.pods.filter((p) => p.deployment === 'tollgate-authn').length, 3);
    } finally {
      await removeAll(k);
    }
  });
});
