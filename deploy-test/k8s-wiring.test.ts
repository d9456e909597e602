/**
 * k8s/ wiring: names, ports and files line up across objects; the start order authz → authn → registry
 * holds even for a one-shot apply; the overlay's values reach every consumer; and the key material
 * objects created by `scripts/k8s-deploy.sh` are valid and hold every file the pods read.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { parse } from 'yaml';
import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import { allContainers, deployment, find, render, renderSecrets, validateObject, type K8sObject } from './helpers/k8s.js';
import { run, ROOT, tempDir } from './helpers/run.js';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseCidrs } from '../authn-server/src/request/client-ip.js';
import { createLoginThrottle } from '../authn-server/src/throttle/index.js';
import { basic, makeKeys, MemCredentials, StandInAuthz, tempDir as authnTempDir, testApp } from '../authn-server/test/helpers.js';

/** Where each container reads each file: mountPath/key → [kind, object name, key]. */
function mountedFiles(d: IDeployment): Map<string, { kind: string; name: string; key: string }> {
  const out = new Map<string, { kind: string; name: string; key: string }>();
  const volumes = d.spec?.template.spec?.volumes ?? [];
  for (const { c } of allContainers(d)) {
    for (const m of c.volumeMounts ?? []) {
      const v = volumes.find((x) => x.name === m.name);
      const src = v?.secret ? { kind: 'Secret', name: v.secret.secretName ?? '', items: v.secret.items } : v?.configMap ? { kind: 'ConfigMap', name: v.configMap.name ?? '', items: v.configMap.items } : undefined;
      if (!src) continue;
      for (const it of src.items ?? []) out.set(`${m.mountPath}/${it.path}`, { kind: src.kind, name: src.name, key: it.key });
      if (!src.items) out.set(`${m.mountPath}/*`, { kind: src.kind, name: src.name, key: '*' });
    }
  }
  return out;
}

function flagValue(args: string[], flag: string): string | undefined {
  return args.find((a) => a.startsWith(`${flag}=`))?.slice(flag.length + 1);
}

describe('k8s/ wiring', () => {
  let base: K8sObject[];
  let prod: K8sObject[];
  let keyObjects: K8sObject[];
  let dir: ReturnType<typeof tempDir>;

  before(() => {
    base = render('k8s');
    prod = render('k8s/overlays/production');
    dir = tempDir('k8s-secrets');
    keyObjects = renderSecrets(dir.path);
  });
  after(() => dir?.remove());

  const all = () => [...base, ...keyObjects];

  it('k8s-deploy.sh --render-secrets gives valid Secrets/ConfigMap in namespace tollgate', () => {
    assert.deepEqual(keyObjects.map((o) => `${o.kind}/${o.metadata.name}`), ['Secret/tollgate-authz-tokens', 'Secret/tollgate-authn', 'ConfigMap/tollgate-token-certs']);
    for (const o of keyObjects) {
      assert.doesNotThrow(() => validateObject(o), o.metadata.name);
      assert.equal(o.metadata.namespace, 'tollgate');
    }
    const authn = find(keyObjects, 'Secret', 'tollgate-authn') as unknown as { data: Record<string, string> };
    assert.match(Buffer.from(authn.data['token.key'] ?? '', 'base64').toString(), /BEGIN PRIVATE KEY/);
  });

  it('k8s-deploy.sh --render-secrets names the missing file instead of creating half a secret', () => {
    const res = run('bash', [join(ROOT, 'scripts', 'k8s-deploy.sh'), '--render-secrets', '--certs', join(dir.path, 'nowhere')]);
    assert.equal(res.status, 2);
    assert.match(res.stderr, /nowhere\/admin\.token is missing/);
  });

  it('every file a server is told to read is mounted from an object holding that key', () => {
    for (const name of ['tollgate-authz', 'tollgate-authn']) {
      const d = deployment(base, name);
      const files = mountedFiles(d);
      const main = d.spec?.template.spec?.containers[0];
      const paths = (main?.args ?? []).filter((a) => /^--[a-z-]+(-file)?=\/etc\//.test(a)).map((a) => a.slice(a.indexOf('=') + 1));
      assert.ok(paths.length >= 2, `${name}: expected file flags in ${main?.args?.join(' ')}`);
      for (const p of paths) {
        const dirPath = p.slice(0, p.lastIndexOf('/'));
        const key = p.slice(p.lastIndexOf('/') + 1);
        const src = files.get(p) ?? files.get(`${dirPath}/*`);
        assert.ok(src, `${name}: ${p} is not mounted`);
        const obj = find(all(), src.kind, src.name) as unknown as { data?: Record<string, string> };
        assert.ok(obj.data && key in obj.data, `${name}: ${src.kind}/${src.name} has no key ${key}`);
      }
    }
  });

  it('the registry config trusts the mounted bundle, and issuer/service come from the same settings as authn', () => {
    const cfg = parse((find(base, 'ConfigMap', 'tollgate-registry-config') as unknown as { data: Record<string, string> }).data['config.yml'] ?? '') as {
      auth: { token: { rootcertbundle: string } };
      storage: { filesystem: { rootdirectory: string } };
    };
    const reg = deployment(base, 'tollgate-registry');
    const files = mountedFiles(reg);
    assert.deepEqual(files.get(cfg.auth.token.rootcertbundle), { kind: 'ConfigMap', name: 'tollgate-token-certs', key: 'bundle.pem' });
    const regMain = reg.spec?.template.spec?.containers[0];
    assert.ok(regMain?.volumeMounts?.some((m) => m.mountPath === cfg.storage.filesystem.rootdirectory), 'storage on the PVC');
    const cfgPath = regMain?.command?.at(-1) ?? '';
    assert.deepEqual(regMain?.command?.slice(0, 2), ['registry', 'serve']);
    const cfgMount = regMain?.volumeMounts?.find((m) => cfgPath.startsWith(`${m.mountPath}/`));
    const cfgVol = reg.spec?.template.spec?.volumes?.find((v) => v.name === cfgMount?.name);
    assert.equal(cfgVol?.configMap?.name, find(base, 'ConfigMap', 'tollgate-registry-config').metadata.name, 'registry serve reads the generated config');
    assert.equal(cfgPath.slice(cfgPath.lastIndexOf('/') + 1), 'config.yml');
    const settingsName = find(base, 'ConfigMap', 'tollgate-settings').metadata.name;
    const envKey = (d: IDeployment, env: string) => d.spec?.template.spec?.containers[0]?.env?.find((e) => e.name === env)?.valueFrom?.configMapKeyRef;
    const authn = deployment(base, 'tollgate-authn');
    assert.deepEqual(envKey(reg, 'REGISTRY_AUTH_TOKEN_ISSUER'), { name: settingsName, key: 'issuer' });
    assert.deepEqual(envKey(authn, 'TOLLGATE_AUTHN_ISSUER'), { name: settingsName, key: 'issuer' });
    assert.deepEqual(envKey(reg, 'REGISTRY_AUTH_TOKEN_SERVICE'), { name: settingsName, key: 'service' });
    assert.deepEqual(envKey(authn, 'TOLLGATE_AUTHN_SERVICE'), { name: settingsName, key: 'service' });
    const args = authn.spec?.template.spec?.containers[0]?.args ?? [];
    assert.equal(flagValue(args, '--issuer'), '$(TOLLGATE_AUTHN_ISSUER)');
    assert.equal(flagValue(args, '--service'), '$(TOLLGATE_AUTHN_SERVICE)');
  });

  it('Services select their pods and target declared ports', () => {
    for (const name of ['tollgate-authz', 'tollgate-authn', 'tollgate-registry']) {
      const svc = find(base, 'Service', name) as unknown as { spec: { selector: Record<string, string>; ports: Array<{ targetPort: string }> } };
      const d = deployment(base, name);
      const labels = d.spec?.template.metadata?.labels ?? {};
      for (const [k, v] of Object.entries(svc.spec.selector)) assert.equal(labels[k], v, `${name}: selector ${k}`);
      const ports = d.spec?.template.spec?.containers[0]?.ports?.map((p) => p.name);
      for (const p of svc.spec.ports) assert.ok(ports?.includes(p.targetPort), `${name}: targetPort ${p.targetPort}`);
    }
  });

  it('authz: one replica, Recreate, its SQLite file on the PVC', () => {
    const d = deployment(base, 'tollgate-authz');
    assert.equal(d.spec?.replicas, 1);
    assert.equal(d.spec?.strategy?.type, 'Recreate');
    const db = flagValue(d.spec?.template.spec?.containers[0]?.args ?? [], '--db') ?? '';
    const mount = d.spec?.template.spec?.containers[0]?.volumeMounts?.find((m) => db.startsWith(`${m.mountPath}/`));
    const vol = d.spec?.template.spec?.volumes?.find((v) => v.name === mount?.name);
    assert.equal(vol?.persistentVolumeClaim?.claimName, 'tollgate-authz-data');
  });

  it('NetworkPolicy: only tollgate\'s own callers (authn, controller, proxy, authz-client label) and authz admins reach authz, on its port only', () => {
    const np = find(base, 'NetworkPolicy', 'tollgate-authz') as unknown as {
      spec: { podSelector: { matchLabels: Record<string, string> }; policyTypes: string[]; ingress: Array<{ from: Array<{ podSelector: { matchLabels?: Record<string, string>; matchExpressions?: unknown[] }; namespaceSelector?: unknown; ipBlock?: unknown }>; ports: Array<{ port: number }> }> };
    };
    assert.deepEqual(np.spec.podSelector.matchLabels, { 'app.kubernetes.io/name': 'tollgate-authz' });
    assert.deepEqual(np.spec.policyTypes, ['Ingress']);
    assert.equal(np.spec.ingress.length, 1);
    const from = np.spec.ingress[0]!.from;
    assert.ok(from.every((f) => f.namespaceSelector === undefined && f.ipBlock === undefined), 'tollgate\'s namespace only');
    assert.deepEqual(from.map((f) => f.podSelector), [
      { matchExpressions: [{ key: 'app.kubernetes.io/component', operator: 'In', values: ['authn', 'controller', 'proxy'] }] },
      { matchLabels: { 'tollgate.io/authz-client': 'true' } },
      { matchLabels: { 'tollgate.io/authz-admin': 'true' } },
    ]);
    assert.deepEqual(np.spec.ingress[0]?.ports.map((p) => p.port), [5001]);
  });

  it('authn: 2 replicas with a PodDisruptionBudget that keeps one up', () => {
    assert.equal(deployment(base, 'tollgate-authn').spec?.replicas, 2);
    const pdb = find(base, 'PodDisruptionBudget', 'tollgate-authn') as unknown as { spec: { minAvailable: number; selector: { matchLabels: Record<string, string> } } };
    assert.equal(pdb.spec.minAvailable, 1);
    assert.deepEqual(pdb.spec.selector.matchLabels, { 'app.kubernetes.io/name': 'tollgate-authn' });
  });

  it('start order: authn waits for authz /readyz, the registry for authn /readyz (any apply order converges)', () => {
    const waitUrl = (name: string) => {
      const init = deployment(base, name).spec?.template.spec?.initContainers ?? [];
      assert.equal(init.length, 1, name);
      return init[0]?.env?.find((e) => e.name === 'WAIT_URL')?.value;
    };
    const svcUrl = (name: string) => {
      const svc = find(base, 'Service', name) as unknown as { spec: { ports: Array<{ port: number }> } };
      return `http://${name}:${svc.spec.ports[0]?.port}/readyz`;
    };
    assert.equal(waitUrl('tollgate-authn'), svcUrl('tollgate-authz'));
    assert.equal(waitUrl('tollgate-registry'), svcUrl('tollgate-authn'));
    assert.equal(deployment(base, 'tollgate-authz').spec?.template.spec?.initContainers, undefined, 'authz depends on nothing');
    const authzUrl = flagValue(deployment(base, 'tollgate-authn').spec?.template.spec?.containers[0]?.args ?? [], '--authz-url');
    assert.equal(`${authzUrl}/readyz`, svcUrl('tollgate-authz'));
  });

  it('the production overlay sets issuer, service, realm, host, replicas and images in one place each', () => {
    const settings = (find(prod, 'ConfigMap', 'tollgate-settings') as unknown as { data: Record<string, string> }).data;
    assert.equal(settings.issuer, 'registry.example.com');
    assert.equal(settings.realm, 'https://registry.example.com/auth');
    const ingress = find(prod, 'Ingress', 'tollgate') as unknown as { spec: { rules: Array<{ host: string; http: { paths: Array<{ path: string; backend: { service: { name: string } } }> } }>; tls: Array<{ hosts: string[] }> } };
    assert.equal(ingress.spec.rules[0]?.host, settings['registry-host']);
    assert.deepEqual(ingress.spec.tls[0]?.hosts, [settings['registry-host']]);
    const routes = Object.fromEntries(ingress.spec.rules[0]?.http.paths.map((p) => [p.path, p.backend.service.name]) ?? []);
    // authz only through /ui (the console, cookie sessions); its bearer-token REST API is not on the Ingress.
    assert.deepEqual(routes, { '/v2': 'tollgate-registry', '/auth': 'tollgate-authn', '/ui': 'tollgate-authz' });
    const authzEnv = Object.fromEntries((deployment(prod, 'tollgate-authz').spec?.template.spec?.containers[0]?.env ?? []).map((e) => [e.name, e.valueFrom?.configMapKeyRef?.key]));
    assert.equal(authzEnv.TOLLGATE_AUTHZ_REGISTRY_HOST, 'registry-host', 'the console prints docker login lines for the Ingress host');
    assert.equal(new URL(settings.realm ?? '').pathname, '/auth');
    assert.equal(deployment(prod, 'tollgate-authn').spec?.replicas, 3);
    for (const name of ['tollgate-authz', 'tollgate-authn']) {
      for (const { c } of allContainers(deployment(prod, name))) assert.equal(c.image, 'ghcr.io/example/tollgate:0.1.0');
    }
    // Every reference to the settings follows the overlay's (hash-suffixed) ConfigMap.
    const settingsName = find(prod, 'ConfigMap', 'tollgate-settings').metadata.name;
    const refs = JSON.stringify(prod.filter((o) => o.kind === 'Deployment')).match(/tollgate-settings[-a-z0-9]*/g) ?? [];
    assert.ok(refs.length > 0);
    for (const r of refs) assert.equal(r, settingsName);
  });

  it('production overlay: authn trusts X-Forwarded-For from the ingress, so an attacker behind it neither locks the owner out nor gets fresh guesses when the owner logs in (ingress pod address SIMULATED)', async () => {
    const container = deployment(prod, 'tollgate-authn').spec?.template.spec?.containers[0];
    const arg = flagValue(container?.args ?? [], '--trust-proxy');
    assert.equal(arg, '$(TOLLGATE_AUTHN_TRUST_PROXY)', 'the overlay passes --trust-proxy');
    const ref = container?.env?.find((e) => e.name === 'TOLLGATE_AUTHN_TRUST_PROXY')?.valueFrom?.configMapKeyRef;
    const settings = find(prod, 'ConfigMap', 'tollgate-settings') as unknown as { metadata: { name: string }; data: Record<string, string> };
    assert.equal(ref?.name, settings.metadata.name);
    const cidrs = settings.data[ref?.key ?? ''] ?? '';
    const trust = parseCidrs(cidrs);
    // An ingress controller pod inside the trusted range, as the pod network would show it.
    const ingressPod = '10.42.0.7';
    assert.ok(trust.check(ingressPod), `${cidrs} covers the ingress pods`);

    const tmp = authnTempDir();
    const authz = await new StandInAuthz(() => ['pull']).start();
    const creds = new MemCredentials();
    creds.set('owner', 'owner-pw');
    const t = testApp({ keys: await makeKeys(tmp.dir), authzUrl: authz.url, credentials: creds, throttle: createLoginThrottle(), trustProxy: trust });
    const server = http.createServer((req, res) => {
      Object.defineProperty(req.socket, 'remoteAddress', { value: ingressPod, configurable: true });
      t.app(req, res);
    });
    server.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    const port = (server.address() as AddressInfo).port;
    const login = (client: string, password: string): Promise<number> =>
      new Promise((resolve, reject) => {
        const headers = { authorization: basic('owner', password), 'x-forwarded-for': client };
        http.get({ host: '127.0.0.1', port, path: '/auth?service=registry.test', headers, agent: false }, (r) => resolve((r.resume(), r.statusCode ?? 0))).on('error', reject);
      });
    try {
      const attacker = '203.0.113.66';
      const owner = '198.51.100.7';
      for (let i = 0; i < 5; i++) assert.equal(await login(attacker, `guess-${i}`), 401);
      assert.equal(await login(owner, 'owner-pw'), 200, 'the owner, from their own address, is not locked out');
      assert.equal(await login(attacker, 'guess-5'), 429, "the owner's login did not reset the attacker's count (five free attempts used)");
      assert.equal(await login(owner, 'owner-pw'), 200, 'the owner still logs in while the attacker waits');
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
      t.authzClient.close();
      await authz.stop();
      tmp.cleanup();
    }
  });
});
