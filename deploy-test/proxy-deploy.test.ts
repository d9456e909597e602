/**
 * Deployment of `tollgate proxy` (docs/proxy.md): the compose override and the k8s component. In both the
 * registry is reachable from the proxy only, the proxy reads authn's signing key, users and authz token
 * from the same secrets as authn, and authz admits it.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { parse } from 'yaml';
import { deployment, find, render, validateObject, type K8sObject } from './helpers/k8s.js';
import { run, ROOT } from './helpers/run.js';

const flag = (args: string[] | undefined, name: string): string | undefined => {
  const i = (args ?? []).indexOf(name);
  if (i >= 0) return args![i + 1];
  return (args ?? []).find((a) => a.startsWith(`${name}=`))?.slice(name.length + 1);
};

describe('docker-compose.proxy.yml (registry behind the proxy)', () => {
  const file = join(ROOT, 'docker-compose.proxy.yml');
  const over = parse(readFileSync(file, 'utf8'), { customTags: [{ tag: '!reset', collection: 'seq', resolve: () => null }] }) as {
    services: Record<string, { command?: string[]; networks?: string[]; ports?: unknown; secrets?: string[] }>;
    networks: Record<string, { internal?: boolean }>;
  };

  it('has no dclint errors', () => {
    const res = run(process.execPath, [join(ROOT, 'node_modules', 'dclint', 'bin', 'dclint.cjs'), '-f', 'json', file]);
    const errors = (JSON.parse(res.stdout) as Array<{ messages: Array<{ type: string }> }>).flatMap((r) => r.messages).filter((m) => m.type === 'error');
    assert.deepEqual(errors, []);
  });

  it('the proxy runs token mode against the registry with authn\'s secrets; the registry is on an internal network only', () => {
    const p = over.services.proxy!;
    assert.equal(p.command?.[0], 'proxy');
    assert.equal(flag(p.command, '--mode'), 'token');
    assert.equal(flag(p.command, '--upstream'), 'http://registry:5000');
    assert.equal(flag(p.command, '--key'), '/run/secrets/token_key');
    assert.deepEqual(p.secrets, ['client_token', 'token_key', 'users']);
    assert.deepEqual(over.services.registry?.networks, ['registry-net']);
    assert.equal(over.networks['registry-net']?.internal, true);
    assert.ok(p.networks?.includes('registry-net'));
  });

  it('the proxy\'s healthcheck probes /readyz on the port it listens on', () => {
    const p = over.services.proxy! as { command?: string[]; healthcheck?: { test?: string[] } };
    const port = flag(p.command, '--listen')?.split(':').pop();
    assert.ok(p.healthcheck?.test?.join(' ').includes(`http://127.0.0.1:${port}/readyz`));
  });

  it('merged with docker-compose.yml (docker compose config), the registry publishes no port', function () {
    if (spawnSync('docker', ['compose', 'version']).status !== 0) return this.skip();
    const res = spawnSync('docker', ['compose', '-f', join(ROOT, 'docker-compose.yml'), '-f', file, 'config', '--format', 'json'], { cwd: ROOT, encoding: 'utf8' });
    assert.equal(res.status, 0, res.stderr);
    const merged = JSON.parse(res.stdout) as { services: Record<string, { ports?: unknown[]; networks?: Record<string, unknown> }> };
    assert.equal(merged.services.registry?.ports, undefined);
    assert.deepEqual(Object.keys(merged.services.registry?.networks ?? {}), ['registry-net']);
  });
});

describe('kubectl kustomize k8s/overlays/proxy (components/proxy on the production overlay)', () => {
  let objs: K8sObject[];
  before(() => {
    objs = render('k8s/overlays/proxy');
  });

  it('every rendered object is valid for its schema', () => {
    for (const o of objs) assert.doesNotThrow(() => validateObject(o), `${o.kind}/${o.metadata.name}`);
  });

  it('the proxy mounts the Secret authn uses and its flags name files on those mounts', () => {
    const pod = deployment(objs, 'tollgate-proxy').spec!.template.spec!;
    const c = pod.containers[0]!;
    assert.deepEqual(c.args!.slice(0, 2), ['proxy', '--mode=token']);
    assert.equal(flag(c.args, '--upstream'), 'http://tollgate-registry:5000');
    const volumeOf = (path: string) => pod.volumes!.find((v) => v.name === c.volumeMounts!.find((m) => path.startsWith(`${m.mountPath}/`))?.name);
    assert.equal(volumeOf(flag(c.args, '--key')!)?.secret?.secretName, 'tollgate-authn');
    assert.equal(volumeOf(flag(c.args, '--users')!)?.secret?.secretName, 'tollgate-authn');
    assert.equal(volumeOf(flag(c.args, '--cert')!)?.configMap?.name, 'tollgate-token-certs');
    const authn = deployment(objs, 'tollgate-authn').spec!.template.spec!;
    assert.ok(authn.volumes!.some((v) => v.secret?.secretName === 'tollgate-authn'));
  });

  it('the proxy is probed over HTTP: readiness on /readyz, liveness on /healthz, on its declared port', () => {
    const c = deployment(objs, 'tollgate-proxy').spec!.template.spec!.containers[0]!;
    assert.deepEqual([c.readinessProbe?.httpGet?.path, c.livenessProbe?.httpGet?.path], ['/readyz', '/healthz']);
    const ports = new Set((c.ports ?? []).flatMap((p) => [p.name, p.containerPort]));
    for (const probe of [c.readinessProbe, c.livenessProbe]) assert.ok(ports.has(probe!.httpGet!.port), 'probe port declared');
    assert.equal(c.readinessProbe?.tcpSocket, undefined);
  });

  it('only the proxy reaches the registry; authz admits the proxy; the Ingress sends /v2 to the proxy', () => {
    const reg = find(objs, 'NetworkPolicy', 'tollgate-registry') as unknown as { spec: { ingress: Array<{ from: Array<{ podSelector: { matchLabels: Record<string, string> } }> }> } };
    assert.deepEqual(reg.spec.ingress.flatMap((i) => i.from.map((f) => f.podSelector.matchLabels['app.kubernetes.io/name'])), ['tollgate-proxy']);
    // authz admits the proxy's pods by the component label of the NetworkPolicy plan (base policy).
    type Sel = { matchLabels?: Record<string, string>; matchExpressions?: Array<{ key: string; operator: string; values?: string[] }> };
    const authz = find(objs, 'NetworkPolicy', 'tollgate-authz') as unknown as { spec: { ingress: Array<{ from: Array<{ podSelector?: Sel; namespaceSelector?: Sel }> }> } };
    const labels = deployment(objs, 'tollgate-proxy').spec!.template.metadata!.labels as Record<string, string>;
    const selects = (sel: Sel) =>
      Object.entries(sel.matchLabels ?? {}).every(([k, v]) => labels[k] === v) &&
      (sel.matchExpressions ?? []).every((e) => e.operator === 'In' && (e.values ?? []).includes(labels[e.key] ?? ''));
    assert.ok(authz.spec.ingress.some((i) => i.from.some((f) => f.podSelector !== undefined && f.namespaceSelector === undefined && selects(f.podSelector))), 'a proxy pod is admitted to authz');
    const ing = find(objs, 'Ingress', 'tollgate') as unknown as { spec: { rules: Array<{ http: { paths: Array<{ path: string; backend: { service: { name: string } } }> } }> } };
    assert.equal(ing.spec.rules[0]!.http.paths.find((p) => p.path === '/v2')?.backend.service.name, 'tollgate-proxy');
  });
});
