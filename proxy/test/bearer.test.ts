/** Tokens presented to the proxy are checked as registry 2.8 checks them (bearer.ts), with real keys and authn's own issuer. */
import assert from 'node:assert/strict';
import { SignJWT } from 'jose';
import { createTokenIssuer } from '../../authn-server/src/token/issuer.js';
import { makeKeys, tempDir } from '../../authn-server/test/helpers.js';
import { verifyBearer } from '../src/bearer.js';

describe('proxy: bearer token verification', () => {
  const t = tempDir();
  after(() => t.cleanup());
  const now = new Date('2026-01-01T00:00:00Z');
  const access = [{ type: 'repository', name: 'team-a/app', actions: ['pull'] }];

  let n = 0;
  async function setup(alg: 'ES256' | 'RS256' = 'ES256') {
    const keys = await makeKeys(t.dir, alg, { sub: `k${n++}` });
    const issuer = createTokenIssuer({ keys, issuer: 'tollgate', tokenTtlSec: 300, refreshTtlSec: 3600, clock: () => now });
    return { keys, issuer, opts: { keys, issuer: 'tollgate', service: 'reg', now: () => now } };
  }

  it('a token of ours for this service gives its subject and access (ES256 and RS256)', async () => {
    for (const alg of ['ES256', 'RS256'] as const) {
      const { issuer, opts } = await setup(alg);
      const tok = await issuer.issueAccess({ sub: 'alice', aud: 'reg', access });
      assert.deepEqual(await verifyBearer(tok.token, opts), { account: 'alice', access });
    }
  });

  it('refuses another audience, another issuer, an expired token, a refresh token, a foreign key, a tampered payload', async () => {
    const { keys, issuer, opts } = await setup();
    const other = await issuer.issueAccess({ sub: 'alice', aud: 'other-registry', access });
    assert.ok('refused' in (await verifyBearer(other.token, opts)));
    const foreignIss = createTokenIssuer({ keys, issuer: 'someone-else', tokenTtlSec: 300, refreshTtlSec: 3600, clock: () => now });
    assert.ok('refused' in (await verifyBearer((await foreignIss.issueAccess({ sub: 'alice', aud: 'reg', access })).token, opts)));
    const good = await issuer.issueAccess({ sub: 'alice', aud: 'reg', access });
    assert.deepEqual(await verifyBearer(good.token, { ...opts, now: () => new Date(now.getTime() + 300_000) }), { refused: 'expired' });
    const refresh = await issuer.issueRefresh({ sub: 'alice', credentialId: 'c', service: 'reg' });
    assert.ok('refused' in (await verifyBearer(refresh!.token, opts)));
    const strangerKeys = await makeKeys(t.dir, 'ES256', { sub: 'stranger' });
    const stranger = createTokenIssuer({ keys: strangerKeys, issuer: 'tollgate', tokenTtlSec: 300, refreshTtlSec: 3600, clock: () => now });
    assert.deepEqual(await verifyBearer((await stranger.issueAccess({ sub: 'alice', aud: 'reg', access })).token, opts), { refused: 'signed by an unknown key' });
    const [h, p, s] = good.token.split('.');
    const wider = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(p!, 'base64url').toString()), access: [{ type: 'repository', name: 'team-b/app', actions: ['pull'] }] })).toString('base64url');
    assert.ok('refused' in (await verifyBearer(`${h}.${wider}.${s}`, opts)));
    assert.deepEqual(await verifyBearer('not-a-jwt', opts), { refused: 'not a JWT' });
  });

  it('refuses what the refresh grant refuses, by the same check (token/verify.ts): nbf ahead, string exp, aud array, typ, alg', async () => {
    const { keys, issuer, opts } = await setup();
    const good = await issuer.issueAccess({ sub: 'alice', aud: 'reg', access });
    const [h, p] = good.token.split('.') as [string, string];
    const header = JSON.parse(Buffer.from(h, 'base64url').toString()) as Record<string, unknown>;
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString()) as Record<string, unknown>;
    const sign = (c: Record<string, unknown>, hd: Record<string, unknown> = header) => new SignJWT(c).setProtectedHeader(hd as never).sign(keys.signing.privateKey);
    const nowSec = Math.floor(now.getTime() / 1000);
    // Another replica's clock 30 s ahead: accepted, as the registry does.
    assert.deepEqual(await verifyBearer(await sign({ ...claims, nbf: nowSec + 30 }), opts), { account: 'alice', access });
    const cases: Array<[string, string, RegExp]> = [
      ['nbf two minutes ahead', await sign({ ...claims, nbf: nowSec + 120 }), /"nbf"/],
      ['string exp', await sign({ ...claims, exp: String(claims.exp) }), /"exp"/],
      ['aud as an array', await sign({ ...claims, aud: ['reg'] }), /aud must be a string/],
      ['refresh typ', await sign(claims, { ...header, typ: 'tollgate-refresh+jwt' }), /"typ"/],
      ['no access claim', await sign({ ...claims, access: undefined }), /"access"/],
      ['HS256 keyed with our public key PEM', await new SignJWT(claims).setProtectedHeader({ ...header, alg: 'HS256' } as never).sign(Buffer.from(keys.signing.publicKey.export({ type: 'spki', format: 'pem' }) as string)), /"alg"/],
      ['too long', 'x'.repeat(20000), /too long/],
    ];
    for (const [label, token, why] of cases) {
      const r = await verifyBearer(token, opts);
      assert.ok('refused' in r, label);
      assert.match(r.refused, why, label);
    }
  });
});
