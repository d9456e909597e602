/** scripts/gen-certs.sh: the key material an operator gets from one command, checked with openssl and node:crypto. */
import assert from 'node:assert/strict';
import { createPrivateKey, createPublicKey, sign, verify, X509Certificate } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { requireTool, run, ROOT, tempDir } from './helpers/run.js';

const SCRIPT = join(ROOT, 'scripts', 'gen-certs.sh');

function certsIn(pem: string): X509Certificate[] {
  return (pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []).map((c) => new X509Certificate(c));
}

function signsAndVerifies(keyFile: string, certFile: string): boolean {
  const key = createPrivateKey(readFileSync(keyFile));
  const cert = new X509Certificate(readFileSync(certFile));
  const data = Buffer.from('header.payload');
  return verify('sha256', data, cert.publicKey, sign('sha256', data, key));
}

describe('scripts/gen-certs.sh', () => {
  let dir: ReturnType<typeof tempDir>;
  let out: string;
  let first: ReturnType<typeof run>;

  before(() => {
    requireTool('openssl', 'gen-certs.sh needs openssl (apt-get install openssl)');
    dir = tempDir('certs');
    out = join(dir.path, 'certs');
    first = run('bash', [SCRIPT, '--out', out, '--hosts', 'registry.example.com 10.1.2.3']);
  });
  after(() => dir?.remove());

  const file = (name: string) => join(out, name);

  it('creates an ES256 (P-256) signing key whose certificate matches it, and a bundle holding that certificate', () => {
    assert.equal(first.status, 0, first.stderr);
    const key = createPrivateKey(readFileSync(file('token.key')));
    assert.equal(key.asymmetricKeyType, 'ec');
    assert.equal(key.asymmetricKeyDetails?.namedCurve, 'prime256v1');
    const cert = new X509Certificate(readFileSync(file('token.crt')));
    assert.ok(cert.publicKey.equals(createPublicKey(key)), 'token.crt holds token.key\'s public key');
    assert.ok(signsAndVerifies(file('token.key'), file('token.crt')));
    const bundle = certsIn(readFileSync(file('bundle.pem'), 'utf8'));
    assert.equal(bundle.length, 1);
    assert.equal(bundle[0]?.fingerprint256, cert.fingerprint256);
  });

  it('issues TLS certificates for authz, authn and registry that verify against the dev CA', () => {
    for (const svc of ['authz', 'authn', 'registry']) {
      const res = run('openssl', ['verify', '-CAfile', file('ca.crt'), file(`${svc}.crt`)]);
      assert.equal(res.status, 0, `${svc}: ${res.stdout}${res.stderr}`);
      const cert = new X509Certificate(readFileSync(file(`${svc}.crt`)));
      assert.equal(cert.checkHost(svc), svc);
      assert.equal(cert.checkHost(`tollgate-${svc}`), `tollgate-${svc}`);
      assert.equal(cert.checkHost('registry.example.com'), 'registry.example.com');
      assert.equal(cert.checkIP('10.1.2.3'), '10.1.2.3');
      assert.equal(cert.ca, false);
      assert.ok(signsAndVerifies(file(`${svc}.key`), file(`${svc}.crt`)));
    }
  });

  it('writes private keys and tokens readable by the owner only, and prints where each file goes', () => {
    for (const f of ['token.key', 'ca.key', 'authz.key', 'authn.key', 'registry.key', 'admin.token', 'client.token', 'metrics.token']) {
      assert.equal(statSync(file(f)).mode & 0o777, 0o600, f);
    }
    const admin = readFileSync(file('admin.token'), 'utf8').trim();
    const client = readFileSync(file('client.token'), 'utf8').trim();
    assert.match(admin, /^[0-9a-f]{64}$/);
    assert.notEqual(admin, client);
    assert.match(first.stdout, /bundle\.pem .*rootcertbundle/);
    assert.match(first.stdout, /client\.token .*--authz-token-file/);
  });

  it('everything it writes (and the users file operators add) is git-ignored in certs/; README.md is not', () => {
    const written = readdirSync(out);
    for (const f of ['token.key', 'ca.key', 'registry.key', 'admin.token', 'client.token']) assert.ok(written.includes(f), f);
    for (const f of [...written, 'users.yaml', 'htpasswd', 'token.key.new']) {
      const res = run('git', ['check-ignore', '-q', `certs/${f}`]);
      assert.equal(res.status, 0, `certs/${f} is not git-ignored`);
    }
    assert.equal(run('git', ['check-ignore', '-q', 'certs/README.md']).status, 1, 'certs/README.md must stay tracked');
  });

  it('re-running keeps the signing key and tokens (no accidental rotation)', () => {
    const key = readFileSync(file('token.key'));
    const token = readFileSync(file('admin.token'));
    const res = run('bash', [SCRIPT, '--out', out]);
    assert.equal(res.status, 0, res.stderr);
    assert.ok(readFileSync(file('token.key')).equals(key));
    assert.ok(readFileSync(file('admin.token')).equals(token));
  });

  it('--rotate makes a new key and keeps the old certificate in the bundle; --prune-bundle drops it', () => {
    const oldCert = new X509Certificate(readFileSync(file('token.crt')));
    const res = run('bash', [SCRIPT, '--out', out, '--rotate']);
    assert.equal(res.status, 0, res.stderr);
    const newCert = new X509Certificate(readFileSync(file('token.crt')));
    assert.notEqual(newCert.fingerprint256, oldCert.fingerprint256);
    assert.ok(signsAndVerifies(file('token.key'), file('token.crt')));
    const bundle = certsIn(readFileSync(file('bundle.pem'), 'utf8')).map((c) => c.fingerprint256);
    assert.deepEqual(bundle, [newCert.fingerprint256, oldCert.fingerprint256]);
    assert.equal(new X509Certificate(readFileSync(file('token.previous.crt'))).fingerprint256, oldCert.fingerprint256, 'old certificate kept on its own for a JWKS');

    assert.equal(run('bash', [SCRIPT, '--out', out, '--prune-bundle']).status, 0);
    assert.deepEqual(certsIn(readFileSync(file('bundle.pem'), 'utf8')).map((c) => c.fingerprint256), [newCert.fingerprint256]);
    assert.equal(existsSync(file('token.previous.crt')), false, '--prune-bundle forgets the old certificate everywhere');
  });

  it('--rs256 makes an RSA signing key (3072 bits) with a matching certificate', () => {
    unlinkSync(file('token.key'));
    const res = run('bash', [SCRIPT, '--out', out, '--rs256']);
    assert.equal(res.status, 0, res.stderr);
    const key = createPrivateKey(readFileSync(file('token.key')));
    assert.equal(key.asymmetricKeyType, 'rsa');
    assert.equal(key.asymmetricKeyDetails?.modulusLength, 3072);
    assert.ok(signsAndVerifies(file('token.key'), file('token.crt')));
  });

  it('rejects unknown options with a usage message', () => {
    const res = run('bash', [SCRIPT, '--out', out, '--bogus']);
    assert.equal(res.status, 2);
    assert.match(res.stderr, /unknown option --bogus/);
  });
});
