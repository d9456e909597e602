/** `tollgate doctor` against the real registry: all checks pass on our stack, and it flags a registry not using token auth. */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { useStack } from '../harness/fixture.js';
import { ROOT, run, tempDir } from '../harness/procs.js';
import { startRegistry } from '../harness/registry.js';
import { generateKeys } from '../harness/stack.js';

const doctor = (args: string[]) => run(process.execPath, ['--import', 'tsx', join(ROOT, 'cli', 'tollgate.ts'), 'doctor', ...args]);

describe('e2e: tollgate doctor', function () {
  this.timeout(120000);
  const stack = useStack([]);

  it('passes every check for an account with catalog access (root)', async () => {
    const s = stack();
    const pw = join(s.dir, 'root.pw');
    writeFileSync(pw, stack.creds('root').password);
    const r = await doctor(['--registry', s.registry?.url ?? '', '--authn', s.spy.url, '--user', 'root', '--password-file', pw, '--repository', 'team-a/app']);
    assert.equal(r.code, 0, r.out);
    for (const name of ['registry asks for a bearer token', 'realm points at authn', 'GET repeated scopes', 'GET space-joined scope', 'expires_in ≥ 60', 'JWT claims', 'signing header', 'registry accepts the token', 'POST password grant', 'offline token + refresh_token grant', 'catalog scope'])
      assert.match(r.stdout, new RegExp(`^${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\s+PASS`, 'm'), `${name} should pass:\n${r.stdout}`);
    assert.doesNotMatch(r.stdout, /\bFAIL\b/);
    assert.match(r.stdout, /all \d+ checks passed/);
  });

  it('passes for alice too (her catalog denial is consistent), JSON output', async () => {
    const s = stack();
    const r = await run(process.execPath, ['--import', 'tsx', join(ROOT, 'cli', 'tollgate.ts'), 'doctor', '--registry', s.registry?.url ?? '', '--user', 'alice', '--repository', 'team-a/app', '--json'], {
      env: { TOLLGATE_DOCTOR_PASSWORD: stack.creds('alice').password },
    });
    assert.equal(r.code, 0, r.out);
    const rows = JSON.parse(r.stdout) as Array<{ name: string; status: string; detail: string }>;
    const cat = rows.find((x) => x.name === 'catalog scope');
    assert.equal(cat?.status, 'PASS');
    assert.match(cat?.detail ?? '', /not granted/);
  });

  it('a wrong password makes the credentialed checks fail (exit 1)', async () => {
    const s = stack();
    const r = await doctor(['--registry', s.registry?.url ?? '', '--user', 'alice', '--password', 'nope', '--repository', 'team-a/app']);
    assert.equal(r.code, 1, r.out);
    assert.match(r.stdout, /^GET repeated scopes\s+FAIL\s+401/m);
  });

  it('flags a registry whose realm is not the given authn', async () => {
    const s = stack();
    const r = await doctor(['--registry', s.registry?.url ?? '', '--authn', 'http://127.0.0.1:9', '--repository', 'team-a/app']);
    assert.equal(r.code, 1, r.out);
    assert.match(r.stdout, /^realm points at authn\s+FAIL/m);
  });

  it('fails on a registry that does not use token auth', async function () {
    const t = tempDir();
    const reg = await startRegistry(join(t.dir, 'reg'), { htpasswd: { users: { x: 'y' } } });
    try {
      const r = await doctor(['--registry', reg.url]);
      assert.equal(r.code, 1, r.out);
      assert.match(r.stdout, /^registry asks for a bearer token\s+FAIL\s+GET \/v2\/ → 401 Basic/m);
    } finally {
      await reg.stop();
      t.cleanup();
    }
  });

  // Last: it leaves authn signing with a key the registry does not trust.
  it('fails "registry accepts the token" when authn signs with a key outside the registry bundle', async () => {
    const s = stack();
    await s.authn.stop();
    await s.startAuthn(await generateKeys(join(s.dir, 'keys-rogue')));
    const r = await doctor(['--registry', s.registry?.url ?? '', '--user', 'root', '--password', stack.creds('root').password, '--repository', 'team-a/app']);
    assert.equal(r.code, 1, r.out);
    // The token looks right (header has kid and x5c) but the registry itself refuses it.
    assert.match(r.stdout, /^signing header\s+PASS\s+alg=ES256 kid=yes x5c=1 cert\(s\)/m);
    assert.match(r.stdout, /^registry accepts the token\s+FAIL\s+GET \/v2\/ with token → 401 .*error="invalid_token"/m);
  });
});
