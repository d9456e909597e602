/** Signing keys: libtrust kid vector, RFC 7638 thumbprint, generated certificates, loading rules, JWKS, the keys CLI. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createPrivateKey, createPublicKey, generateKeyPairSync, X509Certificate } from 'node:crypto';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import request from 'supertest';
import { createSelfSignedCert } from '../src/keys/cert.js';
import { generateKeyFiles } from '../src/keys/generate.js';
import { jwkThumbprint, libtrustKeyId } from '../src/keys/kid.js';
import { loadKeys } from '../src/keys/load.js';
import { basic, libtrustKid, MemCredentials, rfc7638, StandInAuthz, tempDir, testApp, verifyIndependently } from './helpers.js';

const ROOT = resolve(import.meta.dirname, '..', '..');

describe('keys', () => {
  let tmp: ReturnType<typeof tempDir>;
  before(() => (tmp = tempDir()));
  after(() => tmp.cleanup());

  it('libtrust key id matches the PROTOCOL.md §5 test vector', () => {
    const pub = createPublicKey({ key: { kty: 'EC', crv: 'P-256', x: 'm7zUpx3b-zmVE5cymSs64POG9QcyEpJaYCD82-549_Q', y: 'dU3biz8sZ_8GPB-odm8Wxz3lNDr1xcAQQPQaOcr1fmc' }, format: 'jwk' });
    assert.equal(libtrustKeyId(pub), 'PYYO:TEWU:V7JH:26JV:AQTZ:LJC3:SXVJ:XGHA:34F2:2LAQ:ZRMK:Z7Q6');
    assert.equal(libtrustKid(pub), 'PYYO:TEWU:V7JH:26JV:AQTZ:LJC3:SXVJ:XGHA:34F2:2LAQ:ZRMK:Z7Q6', 'the test helper agrees');
  });

  it('RFC 7638 thumbprint matches the RFC example', async () => {
    const n =
      '0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw';
    const pub = createPublicKey({ key: { kty: 'RSA', n, e: 'AQAB' }, format: 'jwk' });
    assert.equal(await jwkThumbprint(pub), 'NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs');
  });

  for (const alg of ['ES256', 'RS256'] as const) {
    it(`keys generate (${alg}): PKCS#8 key mode 0600 and a self-signed CA certificate openssl accepts`, () => {
      const f = generateKeyFiles(join(tmp.dir, `gen-${alg}`), { alg });
      assert.equal(statSync(f.keyFile).mode & 0o777, 0o600);
      const cert = new X509Certificate(readFileSync(f.certFile));
      assert.ok(cert.publicKey.equals(createPublicKey(createPrivateKey(readFileSync(f.keyFile)))));
      assert.ok(cert.verify(cert.publicKey), 'self-signed');
      assert.ok(cert.ca);
      assert.ok(new Date(cert.validTo).getTime() > Date.now() + 3000 * 86400_000);
      const v = spawnSync('openssl', ['verify', '-CAfile', f.certFile, f.certFile], { encoding: 'utf8' });
      if (v.error) return; // openssl absent: node's own verification above stands
      assert.equal(v.status, 0, v.stderr);
      assert.throws(() => generateKeyFiles(join(tmp.dir, `gen-${alg}`), { alg }), /already exists/);
    });
  }

  it('certificates dated after 2049 use GeneralizedTime and still parse', () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const cert = new X509Certificate(createSelfSignedCert(privateKey, { now: new Date('2060-05-01T00:00:00Z'), days: 1 }));
    assert.match(cert.validTo, /2060/);
  });

  it('refuses P-384, RSA-1024, Ed25519, a certificate of another key, a missing certificate (unless x5c is off) — naming the file', async () => {
    const write = (name: string, key: ReturnType<typeof generateKeyPairSync>['privateKey']) => {
      const p = join(tmp.dir, name);
      writeFileSync(p, key.export({ type: 'pkcs8', format: 'pem' }));
      return p;
    };
    const p384 = write('p384.key', generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey);
    await assert.rejects(loadKeys({ keyFile: p384, x5c: false }), /p384\.key: EC key on curve secp384r1 is not supported/);
    const rsa = write('rsa1024.key', generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey);
    await assert.rejects(loadKeys({ keyFile: rsa, x5c: false }), /1024 bits is too short/);
    const ed = write('ed.key', generateKeyPairSync('ed25519').privateKey);
    await assert.rejects(loadKeys({ keyFile: ed, x5c: false }), /ed25519 keys are not supported/);
    const a = generateKeyFiles(join(tmp.dir, 'a'));
    const b = generateKeyFiles(join(tmp.dir, 'b'));
    await assert.rejects(loadKeys({ keyFile: a.keyFile, certFile: b.certFile }), /does not hold the public key/);
    await assert.rejects(loadKeys({ keyFile: a.keyFile }), /--cert FILE \(or --no-x5c/);
    await assert.rejects(loadKeys({ keyFile: join(tmp.dir, 'missing.key'), x5c: false }), /cannot read key file/);
    const notPem = join(tmp.dir, 'junk.key');
    writeFileSync(notPem, 'hello');
    await assert.rejects(loadKeys({ keyFile: notPem, x5c: false }), /junk\.key is not a PEM private key/);
    const loaded = await loadKeys({ keyFile: a.keyFile, x5c: false });
    assert.equal(loaded.signing.includeX5c, false);
  });

  it('refuses a certificate chain a registry would reject in x5c: expired, not yet valid, out of order', async () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const keyFile = join(tmp.dir, 'dated.key');
    writeFileSync(keyFile, privateKey.export({ type: 'pkcs8', format: 'pem' }));
    const expired = join(tmp.dir, 'expired.crt');
    writeFileSync(expired, createSelfSignedCert(privateKey, { now: new Date(Date.now() - 10 * 86400_000), days: 2 }));
    await assert.rejects(loadKeys({ keyFile, certFile: expired }), /expired\.crt: certificate #1 expired on/);
    const future = join(tmp.dir, 'future.crt');
    writeFileSync(future, createSelfSignedCert(privateKey, { now: new Date(Date.now() + 10 * 86400_000), days: 30 }));
    await assert.rejects(loadKeys({ keyFile, certFile: future }), /future\.crt: certificate #1 is not valid before/);
    // notBefore one minute ahead of our clock (made on a machine whose clock runs ahead): tolerated.
    // (createSelfSignedCert back-dates notBefore by one hour.)
    const slightlyAhead = join(tmp.dir, 'ahead.crt');
    writeFileSync(slightlyAhead, createSelfSignedCert(privateKey, { now: new Date(Date.now() + 3600_000 + 60_000) }));
    assert.equal((await loadKeys({ keyFile, certFile: slightlyAhead })).signing.includeX5c, true);
    // The leaf followed by a certificate that did not sign it.
    const stranger = generateKeyFiles(join(tmp.dir, 'stranger'));
    const misordered = join(tmp.dir, 'misordered.crt');
    writeFileSync(misordered, createSelfSignedCert(privateKey) + readFileSync(stranger.certFile, 'utf8'));
    await assert.rejects(loadKeys({ keyFile, certFile: misordered }), /certificate #1 is not signed by certificate #2/);
    // Without x5c the registry never sees the chain: the dates do not matter.
    assert.equal((await loadKeys({ keyFile, certFile: expired, x5c: false })).signing.includeX5c, false);
  });

  it('rotation: --extra-cert keys are published in JWKS and still verify refresh tokens; thumbprint kids and --no-x5c', async () => {
    const oldKeys = generateKeyFiles(join(tmp.dir, 'old'));
    const newKeys = generateKeyFiles(join(tmp.dir, 'new'), { alg: 'RS256' });
    const authz = await new StandInAuthz(() => ['pull']).start();
    const creds = new MemCredentials();
    creds.set('alice', 'pw');
    const before = await loadKeys({ keyFile: oldKeys.keyFile, certFile: oldKeys.certFile });
    const after = await loadKeys({ keyFile: newKeys.keyFile, certFile: newKeys.certFile, extraCertFiles: [oldKeys.certFile] });
    const thumb = await loadKeys({ keyFile: newKeys.keyFile, kidFormat: 'thumbprint', x5c: false });
    const t1 = testApp({ keys: before, authzUrl: authz.url, credentials: creds });
    const t2 = testApp({ keys: after, authzUrl: authz.url, credentials: creds });
    const t3 = testApp({ keys: thumb, authzUrl: authz.url, credentials: creds });
    try {
      const rt = (await request(t1.app).get('/auth?offline_token=true&service=registry.test').set('Authorization', basic('alice', 'pw')).expect(200)).body.refresh_token as string;
      const jwks = (await request(t2.app).get('/.well-known/jwks.json').expect(200)).body as { keys: Array<{ kid: string; kty: string }> };
      assert.deepEqual(jwks.keys.map((k) => [k.kid, k.kty]), [[after.signing.kid, 'RSA'], [before.signing.kid, 'EC']]);
      const res = await request(t2.app).post('/auth').type('form').send({ grant_type: 'refresh_token', refresh_token: rt, service: 'registry.test', scope: 'repository:a/b:pull' }).expect(200);
      assert.equal(verifyIndependently(res.body.access_token, after.signing.publicKey).header.kid, after.signing.kid, 'new tokens are signed by the new key');
      const t3res = await request(t3.app).get('/auth?service=registry.test&scope=repository:a/b:pull').set('Authorization', basic('alice', 'pw')).expect(200);
      const { header, claims } = verifyIndependently(t3res.body.token, thumb.signing.publicKey, { kidFormat: 'thumbprint', x5c: false });
      assert.equal(header.kid, await jwkThumbprint(thumb.signing.publicKey));
      assert.deepEqual(claims.access, [{ type: 'repository', name: 'a/b', actions: ['pull'] }]);
      const jwks3 = (await request(t3.app).get('/.well-known/jwks.json').expect(200)).body as { keys: Array<{ kid: string }> };
      assert.equal(jwks3.keys[0]!.kid, rfc7638(thumb.signing.publicKey), 'JWKS kid = RFC 7638 thumbprint with --kid-format thumbprint');
    } finally {
      for (const t of [t1, t2, t3]) t.authzClient.close();
      await authz.stop();
    }
  });

  it('CLI: keys generate, keys bundle --out (rootcertbundle) and --jwks', () => {
    const run = (...args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'cli', 'tollgate.ts'), 'keys', ...args], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } });
    const dir = join(tmp.dir, 'cli');
    const gen = run('generate', '--out', dir, '--alg', 'RS256');
    assert.equal(gen.status, 0, gen.stderr);
    const other = generateKeyFiles(join(tmp.dir, 'cli2'));
    const bundle = join(tmp.dir, 'bundle.pem');
    const jwks = join(tmp.dir, 'jwks.json');
    const b = run('bundle', '--out', bundle, '--jwks', jwks, '--kid-format', 'thumbprint', join(dir, 'token.crt'), other.certFile);
    assert.equal(b.status, 0, b.stderr);
    assert.equal(readFileSync(bundle, 'utf8').match(/BEGIN CERTIFICATE/g)?.length, 2);
    const doc = JSON.parse(readFileSync(jwks, 'utf8')) as { keys: Array<{ kty: string; kid: string }> };
    assert.deepEqual(doc.keys.map((k) => k.kty), ['RSA', 'EC']);
    assert.ok(doc.keys.every((k) => /^[A-Za-z0-9_-]{43}$/.test(k.kid)), 'thumbprint kids');
    const bad = run('generate', '--out', join(tmp.dir, 'x'), '--alg', 'HS256');
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /--alg must be ES256 or RS256/);
    const none = run('bundle', join(dir, 'token.crt'));
    assert.equal(none.status, 2);
    assert.match(none.stderr, /--out FILE and\/or --jwks FILE/);
  });
});
