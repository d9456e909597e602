/** Refresh tokens: reusable, bound to the account's current credential, never interchangeable with registry tokens. */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import { SignJWT } from 'jose';
import request from 'supertest';
import { createCredentials } from '../src/credentials/chain.js';
import type { FileBackend } from '../src/credentials/files/file-backend.js';
import type { KeySet } from '../src/keys/load.js';
import { basic, logger, makeKeys, MemCredentials, StandInAuthz, tableRule, tempDir, testApp, verifyIndependently, verifyRefreshIndependently, type TestApp } from './helpers.js';

describe('refresh tokens, against a stand-in /authorized', () => {
  let tmp: ReturnType<typeof tempDir>;
  let keys: KeySet;
  let authz: StandInAuthz;
  let creds: MemCredentials;
  let t: TestApp;
  let now: Date;
  const S = 'registry.test';
  const table: Record<string, Record<string, string[]>> = { alice: { 'team-a/': ['pull', 'push'] } };

  before(async () => {
    tmp = tempDir();
    keys = await makeKeys(tmp.dir);
    authz = await new StandInAuthz(tableRule(table)).start();
  });
  after(async () => {
    await authz.stop();
    tmp.cleanup();
  });
  beforeEach(() => {
    creds = new MemCredentials();
    creds.set('alice', 'alice-pw');
    now = new Date('2026-01-01T00:00:00Z');
    t = testApp({ keys, authzUrl: authz.url, credentials: creds, clock: () => now, refreshTtlSec: 3600 });
  });
  afterEach(() => t.authzClient.close());

  async function login(): Promise<string> {
    const res = await request(t.app).get(`/auth?account=alice&client_id=docker&offline_token=true&service=${S}`).set('Authorization', basic('alice', 'alice-pw')).expect(200);
    return res.body.refresh_token as string;
  }
  const refresh = (rt: string, scope = 'repository:team-a/app:pull') =>
    request(t.app).post('/auth').type('form').send({ grant_type: 'refresh_token', refresh_token: rt, client_id: 'docker', scope, service: S });

  it('is signed by the server key, but its audience and type make it useless at the registry', async () => {
    const rt = await login();
    const { header, claims } = verifyRefreshIndependently(rt, keys.signing.publicKey, 'test-issuer');
    assert.equal(header.kid, keys.signing.kid);
    assert.notEqual(header.typ, 'JWT');
    assert.equal(claims.aud, 'test-issuer/refresh');
    assert.notEqual(claims.aud, S);
    assert.equal(claims.tgt, 'refresh');
    assert.equal(claims.access, undefined);
    assert.equal(claims.exp, Math.floor(now.getTime() / 1000) + 3600);
  });

  it('is bound to the service it was issued for: refused for another service of the same authn', async () => {
    t.authzClient.close();
    t = testApp({ keys, authzUrl: authz.url, credentials: creds, clock: () => now, refreshTtlSec: 3600, services: ['reg-a', 'reg-b'] });
    const res = await request(t.app).get('/auth?offline_token=true&service=reg-a').set('Authorization', basic('alice', 'alice-pw')).expect(200);
    const rt = res.body.refresh_token as string;
    assert.equal(verifyRefreshIndependently(rt, keys.signing.publicKey, 'test-issuer').claims.svc, 'reg-a');
    const use = (service: string) => request(t.app).post('/auth').type('form').send({ grant_type: 'refresh_token', refresh_token: rt, service, scope: 'repository:team-a/app:pull' });
    const other = await use('reg-b');
    assert.equal(other.status, 401);
    assert.equal(other.body.error, 'invalid_grant');
    assert.match(other.body.error_description, /issued for another service than "reg-b"/);
    const same = await use('reg-a');
    assert.equal(same.status, 200);
    assert.equal(verifyIndependently(same.body.token, keys.signing.publicKey).claims.aud, 'reg-a');
    // A token from before `svc` existed names no service: only a single-service authn may accept it.
    const { svc: _svc, ...legacy } = JSON.parse(Buffer.from(rt.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;
    const header = JSON.parse(Buffer.from(rt.split('.')[0]!, 'base64url').toString()) as Record<string, unknown>;
    const old = await new SignJWT(legacy).setProtectedHeader(header as never).sign(keys.signing.privateKey);
    assert.equal((await use('reg-a')).status, 200);
    const oldUse = await request(t.app).post('/auth').type('form').send({ grant_type: 'refresh_token', refresh_token: old, service: 'reg-a' });
    assert.equal(oldUse.status, 401, 'two services: a token without svc is refused');
  });

  it('a registry access token is refused as a refresh token', async () => {
    const res = await request(t.app).get(`/auth?scope=repository:team-a/app:pull&service=${S}`).set('Authorization', basic('alice', 'alice-pw')).expect(200);
    const r = await refresh(res.body.token).expect(401);
    assert.equal(r.body.error, 'invalid_grant');
    assert.equal(r.body.field, 'refresh_token');
  });

  it('refresh re-asks authz for every scope: a removed grant takes effect at once', async () => {
    const rt = await login();
    const first = await refresh(rt, 'repository:team-a/app:pull,push').expect(200);
    assert.deepEqual(verifyIndependently(first.body.access_token, keys.signing.publicKey).claims.access, [{ type: 'repository', name: 'team-a/app', actions: ['pull', 'push'] }]);
    const saved = table.alice;
    table.alice = { 'team-a/': ['pull'] };
    try {
      const second = await refresh(rt, 'repository:team-a/app:pull,push').expect(200);
      assert.deepEqual(verifyIndependently(second.body.access_token, keys.signing.publicKey).claims.access, [{ type: 'repository', name: 'team-a/app', actions: ['pull'] }]);
    } finally {
      table.alice = saved!;
    }
  });

  it('a password change kills it; so does removing the user', async () => {
    const rt = await login();
    await refresh(rt).expect(200);
    creds.set('alice', 'new-password');
    const r = await refresh(rt).expect(401);
    assert.match(r.body.error_description, /log in again/);
    const rt2 = (await request(t.app).get(`/auth?offline_token=true&service=${S}`).set('Authorization', basic('alice', 'new-password')).expect(200)).body.refresh_token as string;
    await refresh(rt2).expect(200);
    creds.remove('alice');
    await refresh(rt2).expect(401);
  });

  it('with the real users file: a password change in the file kills the refresh token, a change to another user does not', async () => {
    const file = join(tmp.dir, 'users.yaml');
    const write = (alicePw: string, bobPw: string) =>
      writeFileSync(file, `users:\n  alice:\n    password: "${bcrypt.hashSync(alicePw, 4)}"\n  bob:\n    password: "${bcrypt.hashSync(bobPw, 4)}"\n`);
    write('alice-pw', 'bob-pw');
    const fileCreds = await createCredentials({ usersFile: file, logger, watch: { watch: false, pollMs: 0 } });
    const backend = fileCreds.backends[0] as FileBackend;
    t.authzClient.close();
    t = testApp({ keys, authzUrl: authz.url, credentials: fileCreds, clock: () => now, refreshTtlSec: 3600 });
    try {
      const rt = await login();
      await refresh(rt).expect(200);
      // Only bob's password changes; alice's entry is kept byte for byte.
      const aliceLine = /alice:\n {4}password: "[^"]+"/.exec(readFileSync(file, 'utf8'))![0];
      writeFileSync(file, `users:\n  ${aliceLine}\n  bob:\n    password: "${bcrypt.hashSync('bob-new', 4)}"\n`);
      await backend.reload();
      await refresh(rt).expect(200);
      write('alice-new', 'bob-new');
      await backend.reload();
      const r = await refresh(rt).expect(401);
      assert.match(r.body.error_description, /log in again/);
    } finally {
      fileCreds.close();
    }
  });

  it('expires after --refresh-ttl exactly (no leeway after exp)', async () => {
    const rt = await login();
    now = new Date(now.getTime() + 3599_000);
    await refresh(rt).expect(200);
    now = new Date(now.getTime() + 1000);
    const r = await refresh(rt).expect(401);
    assert.match(r.body.error_description, /expired/);
  });

  it('with access_type=offline the same refresh token is handed back (no silent lifetime extension)', async () => {
    const rt = await login();
    const res = await request(t.app).post('/auth').type('form').send({ grant_type: 'refresh_token', refresh_token: rt, access_type: 'offline', service: S }).expect(200);
    assert.equal(res.body.refresh_token, rt);
  });

  it('tokens signed with our own key but not issued as refresh tokens → 401 naming the problem', async () => {
    const rt = await login();
    const { header, claims } = verifyRefreshIndependently(rt, keys.signing.publicKey, 'test-issuer');
    const sign = (c: Record<string, unknown>, h: Record<string, unknown> = header) => new SignJWT(c).setProtectedHeader(h as never).sign(keys.signing.privateKey);
    const nowSec = Math.floor(now.getTime() / 1000);
    const cases: Array<[string, string, RegExp]> = [
      ['not yet valid (nbf two minutes ahead, beyond the 60 s leeway)', await sign({ ...claims, nbf: nowSec + 120 }), /"nbf"/],
      ['string exp', await sign({ ...claims, exp: String(claims.exp) }), /"exp"/],
      ['another issuer', await sign({ ...claims, iss: 'someone-else' }), /"iss"/],
      ['registry audience', await sign({ ...claims, aud: S }), /"aud"/],
      ['typ JWT', await sign(claims, { ...header, typ: 'JWT' }), /"typ"/],
      ['no tgt', await sign({ ...claims, tgt: undefined }), /"tgt"/],
      ['empty subject', await sign({ ...claims, sub: '' }), /missing subject/],
      ['HS256 keyed with our public key PEM', await new SignJWT(claims).setProtectedHeader({ ...header, alg: 'HS256' } as never).sign(Buffer.from(keys.signing.publicKey.export({ type: 'spki', format: 'pem' }) as string)), /"alg"/],
    ];
    // Issued by a replica whose clock runs 30 s ahead: still accepted.
    await refresh(await sign({ ...claims, iat: nowSec + 30, nbf: nowSec + 30, exp: nowSec + 3630 })).expect(200);
    for (const [label, token, why] of cases) {
      const r = await refresh(token);
      assert.equal(r.status, 401, label);
      assert.equal(r.body.error, 'invalid_grant', label);
      assert.match(r.body.error_description, why, label);
    }
  });

  it('forged, other-key, tampered and malformed refresh tokens → 4xx with a reason, never 5xx', async () => {
    const rt = await login();
    const [h, p, s] = rt.split('.') as [string, string, string];
    // Tampered payload (sub changed), original signature.
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString()) as Record<string, unknown>;
    const tampered = `${h}.${Buffer.from(JSON.stringify({ ...claims, sub: 'mallory' })).toString('base64url')}.${s}`;
    assert.equal((await refresh(tampered).expect(401)).body.error, 'invalid_grant');
    // Same header (same kid) but signed by another key.
    const other = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const forged = await new SignJWT(claims).setProtectedHeader(JSON.parse(Buffer.from(h, 'base64url').toString())).sign(other.privateKey);
    assert.match((await refresh(forged).expect(401)).body.error_description, /bad signature/);
    // Another key with its own kid.
    const foreign = await new SignJWT(claims).setProtectedHeader({ alg: 'ES256', typ: 'tollgate-refresh+jwt', kid: 'AAAA:BBBB' }).sign(other.privateKey);
    assert.match((await refresh(foreign).expect(401)).body.error_description, /unknown key/);
    // alg none.
    const none = `${Buffer.from(JSON.stringify({ alg: 'none', kid: keys.signing.kid, typ: 'tollgate-refresh+jwt' })).toString('base64url')}.${p}.`;
    assert.equal((await refresh(none).expect(401)).body.error, 'invalid_grant');
    for (const junk of ['not-a-jwt', 'a.b.c', '....', 'x'.repeat(20000)]) {
      const r = await refresh(junk);
      assert.ok(r.status >= 400 && r.status < 500, `${junk.slice(0, 10)} → ${r.status}`);
      assert.equal(r.body.field, 'refresh_token');
    }
    const missing = await request(t.app).post('/auth').type('form').send({ grant_type: 'refresh_token', service: S }).expect(400);
    assert.equal(missing.body.field, 'refresh_token');
  });
});
