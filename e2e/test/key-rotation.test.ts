/**
 * Scenario 10: key rotation. Add a new certificate to the registry's bundle and restart the
 * registry; switch authn to the new key; pulls keep working throughout. A token signed by a key
 * whose certificate is not in the bundle is rejected by the registry.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import { outDir, uniqueImage, useStack } from '../harness/fixture.js';
import { Skopeo } from '../harness/skopeo.js';
import { generateKeys, tollgate } from '../harness/stack.js';
import { getToken } from '../harness/token.js';

function headerOf(jwt: string): { alg?: string; kid?: string; x5c?: string[] } {
  return JSON.parse(Buffer.from(jwt.split('.')[0] ?? '', 'base64url').toString()) as { alg?: string; kid?: string; x5c?: string[] };
}

function derOf(certFile: string): string {
  return new X509Certificate(readFileSync(certFile)).raw.toString('base64');
}

describe('e2e: signing key rotation', function () {
  this.timeout(180000);
  const stack = useStack(['skopeo']);

  it('old key → bundle with both → new key: pulls work at every step; a key outside the bundle is rejected', async () => {
    const s = stack();
    const alice = new Skopeo(s.home('alice'));
    const img = uniqueImage(s, 'rotate');
    const seed = await alice.push(img.dir, 'v1', s.ref('team-a/app'), stack.creds('alice'));
    assert.equal(seed.code, 0, seed.out);
    const pull = async (step: string) => alice.pull(s.ref('team-a/app'), outDir(s, step), stack.creds('alice'));

    const oldCert = s.key.cert;
    const next = await generateKeys(join(s.dir, 'keys-2'));
    await tollgate(['keys', 'bundle', '--out', s.bundle, oldCert, next.cert]);
    await s.registry?.restart();
    const p1 = await pull('bundle-both-old-key');
    assert.equal(p1.code, 0, p1.out);

    await s.authn.stop();
    await s.startAuthn(next);
    const t = await getToken(s.authnUrl, stack.creds('alice'), ['repository:team-a/app:pull']);
    assert.equal(t.status, 200);
    const h = headerOf(t.token ?? '');
    assert.equal(h.x5c?.[0], derOf(next.cert), 'authn now signs with the new key (x5c = new certificate)');
    const p2 = await pull('new-key');
    assert.equal(p2.code, 0, p2.out);

    const rogue = await generateKeys(join(s.dir, 'keys-rogue'));
    await s.authn.stop();
    await s.startAuthn(rogue);
    const bad = await getToken(s.authnUrl, stack.creds('alice'), ['repository:team-a/app:pull']);
    assert.equal(bad.status, 200);
    const direct = await fetch(`${s.registry?.url}/v2/team-a/app/tags/list`, { headers: { authorization: `Bearer ${bad.token}` } });
    assert.equal(direct.status, 401);
    assert.match(direct.headers.get('www-authenticate') ?? '', /error="invalid_token"/);
    const p3 = await pull('rogue-key');
    assert.notEqual(p3.code, 0, 'a token from a key outside the bundle must not work');
    // An untrusted signature is invalid_token: the registry says "authentication required", not "denied".
    assert.match(p3.out, /reading manifest v1 in [^:]+:\d+\/team-a\/app: errors:\\nunauthorized: authentication required/);

    await s.authn.stop();
    await s.startAuthn(next);
    const p4 = await pull('back-to-new-key');
    assert.equal(p4.code, 0, p4.out);
  });
});
