/**
 * scripts/build-credential-provider.sh: the single executable it builds runs the kubelet plugin on a node
 * without Node.js — no `node` on PATH, an empty environment, only libc/libstdc++ as shared libraries.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { run, ROOT, tempDir } from './helpers/run.js';

describe('scripts/build-credential-provider.sh (Node single executable application + postject)', function () {
  this.timeout(180_000);
  let dir: ReturnType<typeof tempDir>;
  let bin: string;
  before(() => {
    dir = tempDir('credential-provider');
    bin = join(dir.path, 'tollgate-credential-provider');
    const res = run('bash', [join(ROOT, 'scripts', 'build-credential-provider.sh'), '--out', bin], { timeoutMs: 150_000 });
    assert.equal(res.status, 0, res.stderr);
    assert.equal(res.stdout.trim(), bin);
  });
  after(() => dir?.remove());

  const exec = (args: string[], input: string) => spawnSync(bin, args, { input, encoding: 'utf8', env: {}, cwd: dir.path, timeout: 30_000 });

  it('runs the plugin with an empty environment (no node on PATH): request in, response out', () => {
    const exp = Math.floor(Date.now() / 1000) + 3600;
    const token = `eyJhbGciOiJSUzI1NiJ9.${Buffer.from(JSON.stringify({ exp })).toString('base64url')}.c2ln`;
    const req = { apiVersion: 'credentialprovider.kubelet.k8s.io/v1', kind: 'CredentialProviderRequest', image: 'registry.example.com/team-a/app:1', serviceAccountToken: token };
    const r = exec(['--registry', 'registry.example.com'], JSON.stringify(req));
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stderr, '', 'no experimental-feature warning on stderr');
    assert.deepEqual(JSON.parse(r.stdout), {
      apiVersion: 'credentialprovider.kubelet.k8s.io/v1',
      kind: 'CredentialProviderResponse',
      cacheKeyType: 'Registry',
      cacheDuration: '10m0s',
      auth: { 'registry.example.com': { username: 'k8s', password: token } },
    });
  });

  it('keeps the exit-code contract: bad input 1, bad flags 2, nothing on stdout', () => {
    const bad = exec(['--registry', 'registry.example.com'], '{"apiVersion":"v2"}');
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /apiVersion "v2" is not supported/);
    const usage = exec([], '{}');
    assert.equal(usage.status, 2);
    assert.equal(bad.stdout + usage.stdout, '');
  });

  it('needs no shared library beyond what every Debian has (no libnode)', () => {
    const ldd = spawnSync('ldd', [bin], { encoding: 'utf8' });
    const libs = [...ldd.stdout.matchAll(/^\s*(\S+)/gm)].map((m) => m[1]!).filter((l) => !/^(linux-vdso|\/lib64\/ld-linux)/.test(l));
    for (const l of libs) assert.match(l, /^lib(c|m|dl|pthread|rt|stdc\+\+|gcc_s)\.so/, `unexpected shared library ${l}`);
  });
});
