/**
 * The deployed wiring end to end with the real programs: gen-certs.sh material, authz-server,
 * authn-server started with the flags k8s/ and compose use, and registry 2.8 with k8s/'s config.yml.
 * Then the key-rotation runbook (docs/deploy.md) step by step: no token is rejected before it should be.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startAuthz, type AuthzServer } from './helpers/authz.js';
import { find, render } from './helpers/k8s.js';
import { freePort, requireTool, run, ROOT, startProcess, tempDir, type Proc } from './helpers/run.js';

describe('deployed stack: token accepted by the registry, and key rotation without rejected tokens', () => {
  let dir: ReturnType<typeof tempDir>;
  let certs: string;
  let authz: AuthzServer;
  let settings: Record<string, string>;
  let registryConfig: string;
  let authn: { proc: Proc; url: string } | undefined;
  let registry: { proc: Proc; url: string } | undefined;

  const gen = (...args: string[]) => {
    const res = run('bash', [join(ROOT, 'scripts', 'gen-certs.sh'), '--out', certs, ...args]);
    assert.equal(res.status, 0, res.stderr);
  };

  async function startAuthn(): Promise<{ proc: Proc; url: string }> {
    const args = ['--import', 'tsx', 'cli/tollgate.ts', 'authn', 'serve', '--listen', '127.0.0.1:0', '--authz-url', authz.url,
      '--authz-token-file', authz.clientTokenFile, '--issuer', settings.issuer ?? '', '--service', settings.service ?? '',
      '--key', join(certs, 'token.key'), '--cert', join(certs, 'token.crt'), '--users', join(certs, 'users.yaml')];
    const { proc, value } = await startProcess(process.execPath, args, (out) => /"url":"(http:\/\/127\.0\.0\.1:\d+)"/.exec(out)?.[1]);
    return { proc, url: value };
  }

  async function startRegistry(): Promise<{ proc: Proc; url: string }> {
    const port = await freePort();
    const { proc } = await startProcess('docker-registry', ['serve', join(dir.path, 'config.yml')], (out) => (out.includes('listening on') ? true : undefined), {
      env: {
        PATH: process.env.PATH,
        REGISTRY_HTTP_ADDR: `127.0.0.1:${port}`,
        REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY: join(dir.path, 'data'),
        REGISTRY_AUTH_TOKEN_ROOTCERTBUNDLE: join(certs, 'bundle.pem'),
        REGISTRY_AUTH_TOKEN_REALM: `${authn?.url ?? 'http://127.0.0.1:9'}/auth`,
        REGISTRY_AUTH_TOKEN_ISSUER: settings.issuer ?? '',
        REGISTRY_AUTH_TOKEN_SERVICE: settings.service ?? '',
      },
    });
    return { proc, url: `http://127.0.0.1:${port}` };
  }

  async function restart<T extends { proc: Proc }>(current: T | undefined, start: () => Promise<T>): Promise<T> {
    await current?.proc.stop();
    return start();
  }

  async function token(): Promise<string> {
    const url = `${authn?.url}/auth?service=${encodeURIComponent(settings.service ?? '')}&scope=repository:team/app:pull`;
    const res = await fetch(url, { headers: { authorization: `Basic ${Buffer.from('alice:s3cret pw').toString('base64')}` } });
    assert.equal(res.status, 200);
    return ((await res.json()) as { token: string }).token;
  }

  /** 404 = the registry accepted the token and looked for the manifest; 401 = token refused. */
  async function registryStatus(jwt: string): Promise<number> {
    return (await fetch(`${registry?.url}/v2/team/app/manifests/latest`, { headers: { authorization: `Bearer ${jwt}` } })).status;
  }

  before(async function () {
    this.timeout(60_000);
    requireTool('docker-registry', 'the Distribution registry is needed (scripts/install-e2e-deps.sh installs docker-registry)');
    dir = tempDir('stack');
    certs = join(dir.path, 'certs');
    gen();
    const objects = render('k8s');
    settings = (find(objects, 'ConfigMap', 'tollgate-settings') as unknown as { data: Record<string, string> }).data;
    registryConfig = (find(objects, 'ConfigMap', 'tollgate-registry-config') as unknown as { data: Record<string, string> }).data['config.yml'] ?? '';
    writeFileSync(join(dir.path, 'config.yml'), registryConfig);
    const hash = run(process.execPath, ['--import', 'tsx', 'cli/tollgate.ts', 'hash-password', '--cost', '4'], { input: 's3cret pw\n' });
    assert.equal(hash.status, 0, hash.stderr);
    writeFileSync(join(certs, 'users.yaml'), `users:\n  alice:\n    password: "${hash.stdout.trim()}"\n`);
    authz = await startAuthz(dir.path);
    assert.equal((await authz.admin('POST', '/add-role', { name: 'reader', permissions: [{ name: 'team/*', actions: ['pull'] }] })).status, 201);
    assert.equal((await authz.admin('POST', '/add-role-binding', { account_name: 'alice', role_name: 'reader' })).status, 201);
    authn = await startAuthn();
    registry = await startRegistry();
  });

  after(async () => {
    await Promise.all([registry?.proc.stop(), authn?.proc.stop(), authz?.proc.stop()]);
    dir?.remove();
  });

  it('authn is ready with the gen-certs key, and the registry accepts its tokens', async () => {
    const ready = await fetch(`${authn?.url}/readyz`);
    assert.equal(ready.status, 200);
    const jwt = await token();
    assert.equal(await registryStatus(jwt), 404);
    assert.equal(await registryStatus(`${jwt.slice(0, -4)}AAAA`), 401, 'a tampered token is refused');
  });

  it('rotation: old tokens stay valid through every step until the bundle is pruned', async function () {
    this.timeout(60_000);
    const oldToken = await token();
    // 1. New key + certificate; bundle.pem = new + old. 2. Registry first, so it trusts both.
    gen('--rotate');
    assert.equal(readFileSync(join(certs, 'bundle.pem'), 'utf8').match(/BEGIN CERTIFICATE/g)?.length, 2);
    registry = await restart(registry, startRegistry);
    assert.equal(await registryStatus(oldToken), 404, 'old token still accepted after the registry took the new bundle');
    // 3. authn signs with the new key.
    authn = await restart(authn, startAuthn);
    registry = await restart(registry, startRegistry);
    const newToken = await token();
    assert.notEqual(newToken.split('.')[0], oldToken.split('.')[0], 'new key id / x5c in the header');
    assert.equal(await registryStatus(newToken), 404);
    assert.equal(await registryStatus(oldToken), 404, 'tokens issued before the switch keep working until they expire');
    // 4. After the longest token lifetime: prune the bundle; only new tokens pass.
    gen('--prune-bundle');
    registry = await restart(registry, startRegistry);
    assert.equal(await registryStatus(newToken), 404);
    assert.equal(await registryStatus(oldToken), 401);
  });
});
