/**
 * Workload identity: JWTs as registry passwords, checked against a SIMULATED Kubernetes issuer (real HTTP
 * discovery + JWKS on 127.0.0.1, tokens shaped like 1.34 projected tokens). Every verification rule of the
 * issuers file is one test here; the server, the backend and jose are the real code.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import request from 'supertest';
import { stringify } from 'yaml';
import { createLogger } from '../../common/logger.js';
import { createCredentials, type Credentials } from '../src/credentials/chain.js';
import type { KeySet } from '../src/keys/load.js';
import { newSigningKey, signRaw, SimulatedIssuer } from '../../e2e/harness/simulated-issuer.js';
import { basic, CountingThrottle, makeKeys, StandInAuthz, tempDir, testApp, verifyIndependently, type TestApp } from './helpers.js';
import bcrypt from 'bcryptjs';

const S = 'registry.test';
const now = () => Math.floor(Date.now() / 1000);

describe('oidc backend: SIMULATED Kubernetes issuer, JWT logins through the token endpoint', () => {
  let tmp: ReturnType<typeof tempDir>;
  let keys: KeySet;
  let authz: StandInAuthz;
  let cluster: SimulatedIssuer;
  let ci: SimulatedIssuer;
  let creds: Credentials;
  let throttle: CountingThrottle;
  let t: TestApp;
  let lines: string[];
  const logins: string[] = [];

  before(async () => {
    tmp = tempDir();
    keys = await makeKeys(tmp.dir);
    cluster = await new SimulatedIssuer('RS256').start();
    ci = await new SimulatedIssuer('ES256').start();
    // The namespace pattern binding of docs/workload-identity.md: `${labels:namespace}/**` may be pulled.
    authz = await new StandInAuthz((r) => {
      if (r.Account === 'alice') return r.Name.startsWith('team-a/') ? ['pull'] : [];
      const owner = r.Labels?.namespace?.[0] ?? r.Labels?.owner?.[0];
      return owner && r.Name.startsWith(`${owner}/`) ? ['pull'] : [];
    }).start();
    const issuers = {
      issuers: [
        { name: 'cluster-a', usernames: ['k8s'], issuer: cluster.url, audiences: ['tollgate-registry'], insecure: true },
        { name: 'cluster-a-pods', usernames: ['k8s-pod'], issuer: cluster.url, audiences: ['tollgate-registry'], requirePod: true, accountPrefix: 'pods:', insecure: true },
        { name: 'ci', usernames: ['ci'], issuer: ci.url, audiences: ['tollgate-registry'], algorithms: ['ES256'], kubernetes: false, accountPrefix: 'ci:', labels: { owner: '/repository_owner' }, insecure: true },
      ],
    };
    writeFileSync(join(tmp.dir, 'issuers.yaml'), stringify(issuers));
    writeFileSync(join(tmp.dir, 'users.yaml'), stringify({ users: { alice: { password: bcrypt.hashSync('alice-pw', 4) } } }));
    creds = await createCredentials({
      // No refetch cooldown here: an unknown kid is then always checked against fresh keys and refused (401);
      // within a cooldown it is a 503 (oidc-keys.test.ts).
      oidc: { path: join(tmp.dir, 'issuers.yaml'), keys: { cooldownMs: 0 }, onLogin: (issuer, result) => logins.push(`${issuer} ${result}`) },
      usersFile: join(tmp.dir, 'users.yaml'),
      logger: createLogger({ name: 't', level: 'silent' }),
      watch: { watch: false, pollMs: 0 },
    });
  });
  after(async () => {
    creds.close();
    await Promise.all([authz.stop(), cluster.stop(), ci.stop()]);
    tmp.cleanup();
  });
  beforeEach(() => {
    lines = [];
    logins.length = 0;
    const sink = new Writable({
      write(chunk: Buffer, _enc, cb) {
        lines.push(chunk.toString());
        cb();
      },
    });
    throttle = new CountingThrottle(3);
    t = testApp({ keys, authzUrl: authz.url, credentials: creds, throttle, logger: createLogger({ name: 'oidc-test', level: 'info', destination: sink }) });
  });
  afterEach(() => t.authzClient.close());

  const get = (user: string, token: string, scope = 'repository:team-a/app:pull', extra = '') =>
    request(t.app).get(`/auth?service=${S}&scope=${encodeURIComponent(scope)}${extra}`).set('Authorization', basic(user, token));
  const audits = () => lines.map((l) => JSON.parse(l) as { msg: string; audit?: Record<string, unknown> }).filter((l) => l.audit);

  async function refusedWith(user: string, token: string, status: number, reason: string, message: RegExp, post = false): Promise<void> {
    logins.length = 0;
    // Node refuses request headers over 16 KiB (431): a huge token can only come in a POST body.
    const res = post
      ? await request(t.app).post('/auth').type('form').send({ grant_type: 'password', username: user, password: token, service: S, scope: 'repository:team-a/app:pull' })
      : await get(user, token);
    assert.equal(res.status, status, JSON.stringify(res.body));
    assert.equal(res.body.token, undefined, 'no token');
    assert.match(res.body.error_description as string, message);
    assert.deepEqual(logins, [`${user === 'k8s-pod' ? 'cluster-a-pods' : user === 'ci' ? 'ci' : 'cluster-a'} ${reason}`]);
    const line = audits().at(-1)!;
    assert.equal(line.audit!.token_refused, reason);
    assert.equal(line.audit!.status, status);
  }

  describe('valid tokens', () => {
    it('a pod-bound team-a token pulls team-a/app: account = its sub, labels from the kubernetes.io claim', async () => {
      const token = await cluster.mint({ namespace: 'team-a', serviceAccount: 'builder', pod: 'app-7d9f' });
      const mark = authz.requests.length;
      const res = await get('k8s', token).expect(200);
      const { claims } = verifyIndependently(res.body.token as string, keys.signing.publicKey);
      assert.equal(claims.sub, 'system:serviceaccount:team-a:builder');
      assert.deepEqual(claims.access, [{ type: 'repository', name: 'team-a/app', actions: ['pull'] }]);
      const asked = authz.requests.slice(mark)[0]!;
      assert.equal(asked.Account, 'system:serviceaccount:team-a:builder');
      assert.deepEqual(asked.Labels, { issuer: ['cluster-a'], namespace: ['team-a'], serviceaccount: ['builder'], pod: ['app-7d9f'] });
    });

    it('the same token asking for team-b/app gets an empty grant (200, nothing in access)', async () => {
      const res = await get('k8s', await cluster.mint({ namespace: 'team-a' }), 'repository:team-b/app:pull').expect(200);
      assert.deepEqual(verifyIndependently(res.body.token as string, keys.signing.publicKey).claims.access, []);
    });

    it('a token that is not pod-bound logs in where requirePod is off, and is refused where it is on', async () => {
      const token = await cluster.mint({ pod: false });
      const res = await get('k8s', token).expect(200);
      assert.equal(verifyIndependently(res.body.token as string, keys.signing.publicKey).claims.sub, 'system:serviceaccount:team-a:builder');
      await refusedWith('k8s-pod', token, 401, 'no_pod', /requires a pod-bound token/);
      const bound = await get('k8s-pod', await cluster.mint({ pod: 'p1' })).expect(200);
      assert.equal(verifyIndependently(bound.body.token as string, keys.signing.publicKey).claims.sub, 'pods:system:serviceaccount:team-a:builder');
    });

    it('an aud array holding one of our audiences among others is accepted', async () => {
      await get('k8s', await cluster.mint({ audiences: ['https://kubernetes.default.svc', 'tollgate-registry'] })).expect(200);
    });

    it('a non-Kubernetes issuer: account = prefix + sub, labels from JSON Pointers into the claims', async () => {
      const token = await ci.mint({ claims: { sub: 'repo:team-a/app:ref:refs/heads/main', repository_owner: 'team-a', 'kubernetes.io': undefined } });
      const mark = authz.requests.length;
      const res = await get('ci', token).expect(200);
      assert.equal(verifyIndependently(res.body.token as string, keys.signing.publicKey).claims.sub, 'ci:repo:team-a/app:ref:refs/heads/main');
      assert.deepEqual(authz.requests.slice(mark)[0]!.Labels, { issuer: ['ci'], owner: ['team-a'] });
    });

    it('the audit line names issuer, account, namespace and the token jti — never the token', async () => {
      const token = await cluster.mint({ namespace: 'team-a', claims: { jti: 'jti-4711' } });
      await get('k8s', token).expect(200);
      const a = audits().at(-1)!.audit!;
      assert.equal(a.issuer, 'cluster-a');
      assert.equal(a.account, 'system:serviceaccount:team-a:builder');
      assert.equal(a.namespace, 'team-a');
      assert.equal(a.token_jti, 'jti-4711');
      assert.equal(a.outcome, 'issued');
      const signature = token.split('.')[2]!;
      assert.ok(!lines.join('').includes(signature), 'the token never reaches the log');
    });

    it('docker-style: account=k8s is accepted for a JWT login whose account is the sub', async () => {
      await get('k8s', await cluster.mint(), 'repository:team-a/app:pull', '&account=k8s').expect(200);
    });
  });

  describe('refused tokens: 400 for malformed, 401 for invalid, never a token, reason in audit + metric', () => {
    it('wrong audience (the default API-server audience token of every pod)', async () => {
      await refusedWith('k8s', await cluster.mint({ audiences: ['https://kubernetes.default.svc.cluster.local'] }), 401, 'wrong_audience', /audience is not one of tollgate-registry/);
    });
    it('expired (beyond the 60 s tolerance), and accepted within it', async () => {
      await refusedWith('k8s', await cluster.mint({ iat: now() - 700, ttl: 600 }), 401, 'expired', /expired/);
      await get('k8s', await cluster.mint({ iat: now() - 630, ttl: 600 })).expect(200);
    });
    it('not yet valid (nbf beyond the tolerance), and issued in the future', async () => {
      await refusedWith('k8s', await cluster.mint({ claims: { nbf: now() + 600 } }), 401, 'not_yet_valid', /not valid yet/);
      await refusedWith('k8s', await cluster.mint({ iat: now() + 600 }), 401, 'not_yet_valid', /not valid yet/);
      await refusedWith('k8s', await cluster.mint({ claims: { iat: now() + 600 } }), 401, 'iat_in_future', /issued in the future/);
    });
    for (const claim of ['exp', 'iat', 'nbf']) {
      it(`no ${claim} claim (jose alone would accept it)`, async () => {
        await refusedWith('k8s', await cluster.mint({ claims: { [claim]: undefined } }), 401, 'missing_claim', new RegExp(`no "${claim}" claim`));
      });
    }
    it('too old: issued more than maxTokenAge (1 h) ago', async () => {
      await refusedWith('k8s', await cluster.mint({ iat: now() - 7200, ttl: 10800 }), 401, 'too_old', /more than 3600s ago/);
    });
    it('too long-lived: the year-long extended token (exp − iat > maxLifetime)', async () => {
      await refusedWith('k8s', await cluster.mint({ ttl: 365 * 86400 }), 401, 'too_long_lived', /lifetime/);
    });
    it('alg none', async () => {
      await refusedWith('k8s', signRaw({ alg: 'none' }, cluster.claims(), 'none'), 400, 'alg_not_allowed', /alg "none" is not allowed/);
    });
    it('HS256 signed with the public key bytes (key confusion)', async () => {
      const pem = cluster.key.publicKey.export({ type: 'spki', format: 'pem' });
      await refusedWith('k8s', signRaw({ alg: 'HS256', kid: cluster.key.kid }, cluster.claims(), { hmac: pem }), 400, 'alg_not_allowed', /alg "HS256" is not allowed/);
    });
    it('an algorithm outside the issuer\'s allow-list (RS256 for an ES256-only issuer)', async () => {
      const rsa = newSigningKey('RS256');
      await refusedWith('ci', signRaw({ alg: 'RS256', kid: rsa.kid }, ci.claims(), rsa), 400, 'alg_not_allowed', /allowed: ES256/);
    });
    it('a crit header', async () => {
      await refusedWith('k8s', signRaw({ alg: 'RS256', kid: cluster.key.kid, crit: ['exp'], exp: 1 }, cluster.claims(), cluster.key), 400, 'crit', /crit/);
    });
    it('a nested JWT (cty: JWT)', async () => {
      const inner = await cluster.mint();
      await refusedWith('k8s', signRaw({ alg: 'RS256', kid: cluster.key.kid, cty: 'JWT' }, inner, cluster.key), 400, 'nested', /nested/);
    });
    it('a token over 16 KiB', async () => {
      await refusedWith('k8s', await cluster.mint({ claims: { pad: 'x'.repeat(17 * 1024) } }), 400, 'too_large', /longer than 16384/, true);
    });
    it('a password that is not a JWT', async () => {
      await refusedWith('k8s', 'hunter2', 400, 'not_jwt', /not a JWT/);
      await refusedWith('k8s', 'a.b.c.d.e', 400, 'encrypted', /JWE/);
    });
    it('signed by another issuer\'s key that reuses our kid', async () => {
      const other = newSigningKey('RS256');
      await refusedWith('k8s', await cluster.mint({ key: { ...other, kid: cluster.key.kid } }), 401, 'bad_signature', /does not verify/);
    });
    it('signed by another issuer\'s key (its own kid)', async () => {
      await refusedWith('k8s', await cluster.mint({ key: newSigningKey('RS256') }), 401, 'unknown_key', /no key of issuer cluster-a/);
    });
    it('iss not exactly the configured issuer', async () => {
      await refusedWith('k8s', await cluster.mint({ claims: { iss: `${cluster.url}/` } }), 401, 'wrong_issuer', /issuer is not/);
    });
    it('a sub authz would refuse as an account (C1 control U+0085): 401 bad_subject, never a 503', async () => {
      const token = await ci.mint({ claims: { sub: 'repo:team-a/app\u0085', repository_owner: 'team-a', 'kubernetes.io': undefined } });
      await refusedWith('ci', token, 401, 'bad_subject', /sub is not an account name \(must not contain control characters/);
    });
    it('sub not matching the kubernetes.io claim', async () => {
      await refusedWith('k8s', await cluster.mint({ namespace: 'team-a', claims: { sub: 'system:serviceaccount:team-b:builder' } }), 401, 'sub_mismatch', /sub does not match/);
    });
    it('namespace not an RFC 1123 label', async () => {
      const token = await cluster.mint({ claims: { sub: 'system:serviceaccount:Team_A:builder', 'kubernetes.io': { namespace: 'Team_A', serviceaccount: { name: 'builder', uid: 'u' } } } });
      await refusedWith('k8s', token, 401, 'bad_namespace', /RFC 1123 label/);
    });
    it('no kubernetes.io claim, and legacy Secret-token claims', async () => {
      await refusedWith('k8s', await cluster.mint({ claims: { 'kubernetes.io': undefined } }), 401, 'not_kubernetes', /no "kubernetes.io" claim/);
      const legacy = await cluster.mint({ claims: { 'kubernetes.io/serviceaccount/namespace': 'team-a', 'kubernetes.io/serviceaccount/service-account.name': 'builder' } });
      await refusedWith('k8s', legacy, 401, 'legacy_token', /legacy/);
    });
  });

  describe('throttle and refresh', () => {
    it('bad JWTs never feed the per-(account, IP) throttle: the shared user name k8s is never locked', async () => {
      for (let i = 0; i < 6; i++) await get('k8s', await cluster.mint({ audiences: ['other'] })).expect(401);
      await get('k8s', await cluster.mint()).expect(200);
      assert.deepEqual(throttle.calls.filter((c) => c.includes('k8s')), []);
      // A password user still goes through it.
      await get('alice', 'wrong').expect(401);
      assert.deepEqual(throttle.calls, ['check alice 127.0.0.1', 'failure alice 127.0.0.1']);
    });

    it('offline access: the refresh token expires with the JWT, and refreshing keeps the namespace', async () => {
      const token = await cluster.mint({ ttl: 900 });
      const exp = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()).exp as number;
      const res = await get('k8s', token, 'repository:team-a/app:pull', '&offline_token=true').expect(200);
      const rt = res.body.refresh_token as string;
      const rtClaims = JSON.parse(Buffer.from(rt.split('.')[1]!, 'base64url').toString()) as { exp: number; sub: string };
      assert.ok(rtClaims.exp <= exp, `refresh exp ${rtClaims.exp} must not pass the JWT's ${exp}`);
      assert.ok(rtClaims.exp >= exp - 5);
      assert.equal(rtClaims.sub, 'system:serviceaccount:team-a:builder');
      const r2 = await request(t.app).post('/auth').type('form').send({ grant_type: 'refresh_token', refresh_token: rt, service: S, scope: 'repository:team-a/app:pull', client_id: 'docker' }).expect(200);
      assert.deepEqual(verifyIndependently(r2.body.access_token as string, keys.signing.publicKey).claims.access, [{ type: 'repository', name: 'team-a/app', actions: ['pull'] }]);
      const denied = await request(t.app).post('/auth').type('form').send({ grant_type: 'refresh_token', refresh_token: rt, service: S, scope: 'repository:team-b/app:pull', client_id: 'docker' }).expect(200);
      assert.deepEqual(verifyIndependently(denied.body.access_token as string, keys.signing.publicKey).claims.access, []);
    });
  });
});
