/**
 * Registry 3.x configured with `auth.token.jwks` (docs/deploy.md §5), SIMULATED: there is no registry 3
 * binary on this machine, so the token authn issues is checked the way registry 3.x's go-jose path
 * checks it — key looked up by `kid` in the JWKS file, RFC 7638 thumbprint kids, signature, iss/aud, and
 * no `x5c` header (a jwks-only 3.x refuses tokens carrying one). The JWKS comes from the documented
 * `tollgate keys bundle` command over gen-certs.sh output, including the rotation case.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { calculateJwkThumbprint, createLocalJWKSet, decodeProtectedHeader, jwtVerify, type JSONWebKeySet } from 'jose';
import { parse } from 'yaml';
import { startAuthz, type AuthzServer } from './helpers/authz.js';
import { run, ROOT, startProcess, tempDir, type Proc } from './helpers/run.js';

const ISSUER = 'registry.example.com';
const SERVICE = 'registry.example.com';

/** The YAML block of docs/deploy.md whose first line names registry 3.x with JWKS. */
function documentedJwksConfig(): { auth: { token: Record<string, unknown> } } {
  const doc = readFileSync(join(ROOT, 'docs', 'deploy.md'), 'utf8');
  const block = [...doc.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1] ?? '').find((b) => /^# registry 3\.x .*JWKS/i.test(b));
  assert.ok(block, 'docs/deploy.md has a registry 3.x JWKS config block');
  return parse(block) as { auth: { token: Record<string, unknown> } };
}

describe('registry 3.x with a JWKS file (SIMULATED: no registry 3 binary — token verified with jose against the JWKS)', () => {
  let dir: ReturnType<typeof tempDir>;
  let certs: string;
  let authz: AuthzServer;
  const procs: Proc[] = [];

  const tollgate = (args: string[], input?: string) => {
    const res = run(process.execPath, ['--import', 'tsx', 'cli/tollgate.ts', ...args], { input });
    assert.equal(res.status, 0, res.stderr);
    return res;
  };
  const gen = (...args: string[]) => assert.equal(run('bash', [join(ROOT, 'scripts', 'gen-certs.sh'), '--out', certs, ...args]).status, 0);

  /** authn started with the flags the doc prescribes for a jwks-only registry 3.x. */
  async function startAuthn(): Promise<string> {
    const { proc, value } = await startProcess(process.execPath, ['--import', 'tsx', 'cli/tollgate.ts', 'authn', 'serve', '--listen', '127.0.0.1:0',
      '--authz-url', authz.url, '--authz-token-file', authz.clientTokenFile, '--issuer', ISSUER, '--service', SERVICE,
      '--key', join(certs, 'token.key'), '--cert', join(certs, 'token.crt'), '--users', join(certs, 'users.yaml'),
      '--kid-format', 'thumbprint', '--no-x5c'], (out) => /"url":"(http:\/\/127\.0\.0\.1:\d+)"/.exec(out)?.[1]);
    procs.push(proc);
    return value;
  }

  async function token(authn: string): Promise<string> {
    const res = await fetch(`${authn}/auth?service=${SERVICE}&scope=repository:team/app:pull`, {
      headers: { authorization: `Basic ${Buffer.from('alice:pw').toString('base64')}` },
    });
    assert.equal(res.status, 200);
    return ((await res.json()) as { token: string }).token;
  }

  /** What registry 3.x does with a jwks-only config, as far as the token is concerned. */
  async function registry3Accepts(jwt: string, jwks: JSONWebKeySet): Promise<boolean> {
    const header = decodeProtectedHeader(jwt);
    if (header.x5c !== undefined) return false;
    const key = jwks.keys.find((k) => k.kid === header.kid);
    if (!key || key.kid !== (await calculateJwkThumbprint(key))) return false;
    try {
      await jwtVerify(jwt, createLocalJWKSet(jwks), { issuer: ISSUER, audience: SERVICE, algorithms: ['ES256', 'RS256'] });
      return true;
    } catch {
      return false;
    }
  }

  const jwksOf = (...files: string[]): JSONWebKeySet => {
    const out = join(dir.path, 'jwks.json');
    tollgate(['keys', 'bundle', '--jwks', out, '--kid-format', 'thumbprint', ...files.map((f) => join(certs, f))]);
    return JSON.parse(readFileSync(out, 'utf8')) as JSONWebKeySet;
  };

  before(async function () {
    this.timeout(60_000);
    dir = tempDir('jwks');
    certs = join(dir.path, 'certs');
    gen();
    const hash = tollgate(['hash-password', '--cost', '4'], 'pw\n').stdout.trim();
    writeFileSync(join(certs, 'users.yaml'), `users:\n  alice:\n    password: "${hash}"\n`);
    authz = await startAuthz(dir.path);
    assert.equal((await authz.admin('POST', '/add-role', { name: 'reader', permissions: [{ name: 'team/*', actions: ['pull'] }] })).status, 201);
    assert.equal((await authz.admin('POST', '/add-role-binding', { account_name: 'alice', role_name: 'reader' })).status, 201);
  });
  after(async () => {
    await Promise.all([...procs.map((p) => p.stop()), authz?.proc.stop()]);
    dir?.remove();
  });

  it('the documented 3.x config uses jwks and no rootcertbundle, with ES256/RS256 allowed', () => {
    const t = documentedJwksConfig().auth.token;
    assert.equal(typeof t.jwks, 'string');
    assert.equal(t.rootcertbundle, undefined, 'a jwks-only config: the token must then carry no x5c');
    assert.deepEqual(t.signingalgorithms, ['ES256', 'RS256']);
    for (const k of ['realm', 'service', 'issuer']) assert.equal(typeof t[k], 'string', k);
  });

  it('a token from authn --kid-format thumbprint --no-x5c verifies against the JWKS from `tollgate keys bundle`', async () => {
    const jwt = await token(await startAuthn());
    assert.equal(decodeProtectedHeader(jwt).x5c, undefined);
    assert.equal(await registry3Accepts(jwt, jwksOf('token.crt')), true);
  });

  it('rotation: a JWKS of token.crt + token.previous.crt accepts old and new tokens; after --prune-bundle only new ones', async function () {
    this.timeout(120_000);
    const oldToken = await token(await startAuthn());
    gen('--rotate');
    const both = jwksOf('token.crt', 'token.previous.crt');
    assert.equal(both.keys.length, 2);
    const newToken = await token(await startAuthn());
    assert.notEqual(decodeProtectedHeader(newToken).kid, decodeProtectedHeader(oldToken).kid);
    assert.equal(await registry3Accepts(oldToken, both), true, 'old tokens stay valid while the JWKS lists the old key');
    assert.equal(await registry3Accepts(newToken, both), true);
    gen('--prune-bundle');
    const current = jwksOf('token.crt');
    assert.equal(await registry3Accepts(newToken, current), true);
    assert.equal(await registry3Accepts(oldToken, current), false);
  });
});
