/**
 * scripts/build-credential-provider.sh: the single executable it builds runs the kubelet plugin on a node
 * without Node.js — no `node` on PATH, an empty environment, only libc/libstdc++ as shared libraries; the
 * script runs from any directory; the executable ignores NODE_OPTIONS and OPENSSL_CONF.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { run, ROOT, tempDir } from './helpers/run.js';

describe('scripts/build-credential-provider.sh (Node single executable application + postject)', function () {
  this.timeout(180_000);
  let dir: ReturnType<typeof tempDir>;
  let bin: string;
  before(() => {
    dir = tempDir('credential-provider');
    bin = join(dir.path, 'tollgate-credential-provider');
    // From outside the checkout, with a relative --out (issue 18: it failed there).
    const res = run('bash', [join(ROOT, 'scripts', 'build-credential-provider.sh'), '--out', 'tollgate-credential-provider'], { cwd: dir.path, timeoutMs: 150_000 });
    assert.equal(res.status, 0, res.stderr);
    assert.equal(res.stdout.trim(), bin);
  });
  after(() => dir?.remove());

  const exec = (args: string[], input: string, env: NodeJS.ProcessEnv = {}) => spawnSync(bin, args, { input, encoding: 'utf8', env, cwd: dir.path, timeout: 30_000 });

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

  it('ignores NODE_OPTIONS (a --require preload) and OPENSSL_CONF (a config loading a provider library)', () => {
    const marker = join(dir.path, 'injected');
    writeFileSync(join(dir.path, 'inject.cjs'), `require('fs').writeFileSync(${JSON.stringify(marker)}, 'ran')`);
    writeFileSync(join(dir.path, 'openssl.cnf'), `nodejs_conf = c\n[c]\nproviders = p\n[p]\nx = s\n[s]\nmodule = ${dir.path}/evil.so\nactivate = 1\n`);
    const r = exec(['--registry', 'registry.example.com'], '{"apiVersion":"v2"}', { NODE_OPTIONS: `--require ${join(dir.path, 'inject.cjs')}`, OPENSSL_CONF: join(dir.path, 'openssl.cnf') });
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /apiVersion "v2" is not supported/, 'the plugin ran as usual');
    assert.equal(existsSync(marker), false, 'the preload did not run');
  });

  it('refuses a wildcard --registry without --allow-wildcard-registry (exit 2)', () => {
    const r = exec(['--registry', '*.example.com'], '{}');
    assert.equal(r.status, 2);
    assert.match(r.stderr, /wildcard/);
  });
});
