/**
 * The registry settings we ship (k8s/base/registry/config.yml + the settings env, and the compose
 * environment) start a real Distribution registry 2.8 with token auth that points clients at our realm.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { find, render } from './helpers/k8s.js';
import { freePort, requireTool, run, ROOT, startProcess, tempDir, type Proc } from './helpers/run.js';

/** Resolves compose `${VAR:-default}` to its default (what `docker compose` does with VAR unset). */
const composeDefault = (v: string) => v.replace(/\$\{[A-Z_]+:-([^}]*)\}/g, '$1');

// What the registry:2 image ships as /etc/docker/registry/config.yml (compose relies on it).
const IMAGE_DEFAULT_CONFIG = `version: 0.1
log:
  fields:
    service: registry
storage:
  cache:
    blobdescriptor: inmemory
  filesystem:
    rootdirectory: /var/lib/registry
http:
  addr: :5000
  headers:
    X-Content-Type-Options: [nosniff]
health:
  storagedriver:
    enabled: true
    interval: 10s
    threshold: 3
`;

describe('registry configuration against a real registry 2.8', () => {
  let dir: ReturnType<typeof tempDir>;
  const procs: Proc[] = [];

  before(() => {
    requireTool('docker-registry', 'the Distribution registry is needed (scripts/install-e2e-deps.sh installs docker-registry)');
    dir = tempDir('registry');
    const gen = run('bash', [join(ROOT, 'scripts', 'gen-certs.sh'), '--out', join(dir.path, 'certs')]);
    assert.equal(gen.status, 0, gen.stderr);
  });
  after(async () => {
    await Promise.all(procs.map((p) => p.stop()));
    dir?.remove();
  });

  async function startRegistry(config: string, env: Record<string, string>): Promise<string> {
    const port = await freePort();
    const cfgFile = join(dir.path, `config-${port}.yml`);
    writeFileSync(cfgFile, config);
    const { proc } = await startProcess('docker-registry', ['serve', cfgFile], (out) => (out.includes('listening on') ? true : undefined), {
      env: {
        PATH: process.env.PATH,
        ...env,
        // Only the machine-specific parts change: loopback port, temp storage, the generated bundle.
        REGISTRY_HTTP_ADDR: `127.0.0.1:${port}`,
        REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY: join(dir.path, `data-${port}`),
        REGISTRY_AUTH_TOKEN_ROOTCERTBUNDLE: join(dir.path, 'certs', 'bundle.pem'),
      },
    });
    procs.push(proc);
    return `http://127.0.0.1:${port}`;
  }

  async function expectTokenAuth(base: string, realm: string, service: string): Promise<void> {
    const probe = await fetch(`${base}/`);
    assert.equal(probe.status, 200, 'the probe path "/" answers 200 without a token');
    const res = await fetch(`${base}/v2/`);
    assert.equal(res.status, 401);
    assert.equal(res.headers.get('www-authenticate'), `Bearer realm="${realm}",service="${service}"`);
  }

  it('k8s: config.yml plus the tollgate-settings values', async () => {
    const objects = render('k8s');
    const settings = (find(objects, 'ConfigMap', 'tollgate-settings') as unknown as { data: Record<string, string> }).data;
    const config = (find(objects, 'ConfigMap', 'tollgate-registry-config') as unknown as { data: Record<string, string> }).data['config.yml'] ?? '';
    assert.ok(parse(config), 'config.yml is YAML');
    const base = await startRegistry(config, {
      REGISTRY_AUTH_TOKEN_REALM: settings.realm ?? '',
      REGISTRY_AUTH_TOKEN_ISSUER: settings.issuer ?? '',
      REGISTRY_AUTH_TOKEN_SERVICE: settings.service ?? '',
    });
    await expectTokenAuth(base, settings.realm ?? '', settings.service ?? '');
  });

  it('compose: the image default config plus the environment in docker-compose.yml', async () => {
    const compose = parse(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
      services: { registry: { environment: Record<string, string>; healthcheck: { test: string[] } } };
    };
    const env = Object.fromEntries(Object.entries(compose.services.registry.environment).map(([k, v]) => [k, composeDefault(String(v))]));
    const base = await startRegistry(IMAGE_DEFAULT_CONFIG, env);
    await expectTokenAuth(base, env.REGISTRY_AUTH_TOKEN_REALM ?? '', env.REGISTRY_AUTH_TOKEN_SERVICE ?? '');
    // The compose healthcheck command itself (busybox wget in the image; same flags in GNU wget).
    const [kind, cmd, ...args] = compose.services.registry.healthcheck.test;
    assert.equal(kind, 'CMD');
    const check = run(cmd ?? '', args.map((a) => a.replace('http://127.0.0.1:5000', base)));
    assert.equal(check.status, 0, check.stderr);
  });

  it('docs/deploy.md: the registry 2.8 config snippet starts a real 2.8 with token auth and the documented realm', async () => {
    const doc = readFileSync(join(ROOT, 'docs', 'deploy.md'), 'utf8');
    const snippet = [...doc.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1] ?? '').find((b) => b.startsWith('# registry 2.8'));
    assert.ok(snippet, 'docs/deploy.md has a registry 2.8 config block');
    const token = (parse(snippet) as { auth: { token: { realm: string; service: string } } }).auth.token;
    const base = await startRegistry(snippet, {});
    await expectTokenAuth(base, token.realm, token.service);
  });

  it('the registry refuses to start when the bundle is missing (so the bundle path is really used)', async () => {
    const cfgFile = join(dir.path, 'config-missing.yml');
    writeFileSync(cfgFile, readFileSync(join(ROOT, 'k8s', 'base', 'registry', 'config.yml'), 'utf8'));
    const res = run('docker-registry', ['serve', cfgFile], {
      env: { PATH: process.env.PATH, REGISTRY_HTTP_ADDR: '127.0.0.1:0', REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY: join(dir.path, 'x'), REGISTRY_AUTH_TOKEN_ROOTCERTBUNDLE: join(dir.path, 'nope.pem') },
    });
    assert.notEqual(res.status, 0);
    assert.match(res.stderr + res.stdout, /nope\.pem/);
  });
});
