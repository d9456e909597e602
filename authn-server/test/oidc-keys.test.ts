/**
 * Issuer keys and the verification cache, against a SIMULATED Kubernetes issuer (real HTTP discovery +
 * JWKS): lazy fetch, fail-closed 503 when keys cannot be had, one refetch per cooldown for unknown kids,
 * key rotation, stale keys, discovery checks, the rotating bearer token, the SHA-256 verification cache,
 * and reloads of the issuers file.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import request from 'supertest';
import { stringify } from 'yaml';
import { createLogger } from '../../common/logger.js';
import { createOidcBackend, type OidcBackend } from '../src/credentials/oidc/backend.js';
import { createCredentials } from '../src/credentials/chain.js';
import type { AuthnResult } from '../src/credentials/backend.js';
import { newSigningKey, SimulatedIssuer } from '../../e2e/harness/simulated-issuer.js';
import { basic, makeKeys, StandInAuthz, tempDir, testApp } from './helpers.js';

const silent = createLogger({ name: 't', level: 'silent' });
const noWatch = { watch: false, pollMs: 0 };

describe('oidc keys and cache: SIMULATED Kubernetes issuer', () => {
  let tmp: ReturnType<typeof tempDir>;
  let cluster: SimulatedIssuer;
  let backend: OidcBackend | undefined;
  let clock: number;
  let logins: string[];
  const file = () => join(tmp.dir, 'issuers.yaml');
  const writeIssuers = (over: Record<string, unknown> = {}) =>
    writeFileSync(file(), stringify({ issuers: [{ name: 'cluster-a', usernames: ['k8s'], issuer: cluster.url, audiences: ['tollgate-registry'], insecure: true, clockTolerance: 0, ...over }] }));
  const open = (keys: Record<string, number> = {}) => {
    backend = createOidcBackend({ path: file(), logger: silent, watch: noWatch, now: () => clock, keys, onLogin: (_i, r) => logins.push(r) });
    return backend;
  };
  const mint = (o: Parameters<SimulatedIssuer['mint']>[0] = {}) => cluster.mint({ iat: Math.floor(clock / 1000), ...o });
  /** A refusal: the backend's `refused` result (status, reason), or what it threw (could not decide → 503). */
  async function refusal(p: Promise<AuthnResult>): Promise<{ status?: number; message: string; thrown?: true; retryAfterSec?: number }> {
    let r: AuthnResult;
    try {
      r = await p;
    } catch (e) {
      const after = (e as { retryAfterSec?: unknown }).retryAfterSec;
      return { message: (e as Error).message, thrown: true, ...(typeof after === 'number' ? { retryAfterSec: after } : {}) };
    }
    if (r.kind === 'refused') return { status: r.malformed ? 400 : 401, message: r.reason };
    assert.fail('expected a refusal');
  }

  const strangers = [1, 2, 3, 4, 5].map(() => newSigningKey('ES256'));
  before(async () => {
    cluster = await new SimulatedIssuer().start();
  });
  after(() => cluster.stop());
  beforeEach(() => {
    tmp = tempDir();
    cluster.reset();
    clock = Date.now();
    logins = [];
    writeIssuers();
  });
  afterEach(async () => {
    backend?.close();
    backend = undefined;
    tmp.cleanup();
  });

  it('keys are fetched through discovery, once, and reused', async () => {
    const b = open();
    await new Promise((r) => setTimeout(r, 50)); // start-up warm-up
    for (let i = 0; i < 3; i++) assert.equal((await b.authenticate('k8s', await mint())).kind, 'ok');
    assert.deepEqual(cluster.requests.map((r) => r.path), ['/.well-known/openid-configuration', '/openid/v1/jwks']);
  });

  it('an unknown kid refetches at most once per cooldown, however many logins carry one; during the cooldown it is 503 + Retry-After, not 401', async () => {
    const b = open();
    await b.authenticate('k8s', await mint());
    const before = cluster.jwksFetches();
    const during = await refusal(b.authenticate('k8s', await mint({ key: strangers[0] })));
    assert.equal(cluster.jwksFetches(), before, 'the keys were fetched less than 30 s ago: no refetch');
    assert.equal(during.thrown, true, 'not a refusal (401): thrown, which the route turns into 503');
    assert.equal(during.retryAfterSec, 30);
    clock += 31_000;
    const first = await refusal(b.authenticate('k8s', await mint({ key: strangers[1] })));
    assert.equal(first.status, 401, 'a kid missing from keys fetched for this very login is refused');
    clock += 10_000;
    for (const key of strangers) {
      const e = await refusal(b.authenticate('k8s', await mint({ key })));
      assert.equal(e.thrown, true);
      assert.equal(e.retryAfterSec, 20, 'Retry-After is what is left of the cooldown');
    }
    assert.equal(cluster.jwksFetches(), before + 1);
    clock += 21_000;
    await refusal(b.authenticate('k8s', await mint({ key: strangers[1] })));
    assert.equal(cluster.jwksFetches(), before + 2, 'after the 30 s cooldown one more refetch');
  });

  it('a garbage-kid token just before a rotation: real workloads get 503 + Retry-After (never 401), then log in', async () => {
    writeFileSync(join(tmp.dir, 'users.yaml'), stringify({ users: {} }));
    const creds = await createCredentials({ oidc: { path: file(), keys: {} }, logger: silent, watch: noWatch });
    const authz = await new StandInAuthz(() => ['pull']).start();
    const t = testApp({ keys: await makeKeys(tmp.dir), authzUrl: authz.url, credentials: creds });
    const q = '/auth?service=registry.test&scope=repository:team-a/app:pull';
    try {
      await request(t.app).get(q).set('Authorization', basic('k8s', await cluster.mint())).expect(200);
      // Keys were just fetched; the attacker's garbage kid now costs nothing and proves nothing.
      await request(t.app).get(q).set('Authorization', basic('k8s', await cluster.mint({ key: strangers[0] }))).expect(503);
      cluster.rotate();
      const real = await request(t.app).get(q).set('Authorization', basic('k8s', await cluster.mint()));
      assert.equal(real.status, 503);
      assert.ok(Number(real.headers['retry-after']) >= 25 && Number(real.headers['retry-after']) <= 30, real.headers['retry-after']);
      assert.equal(real.body.token, undefined);
    } finally {
      t.authzClient.close();
      creds.close();
      await authz.stop();
    }
  });

  it('a JWKS endpoint that drips bytes: cached keys keep answering while it is refetched; without keys the fetch ends at its total deadline', async () => {
    const b = open({ timeoutMs: 400 });
    assert.equal((await b.authenticate('k8s', await mint())).kind, 'ok');
    cluster.dripMs = 100; // one byte every 100 ms: never idle, never done within the deadline
    clock += 11 * 60_000; // past the 10 min freshness: a refetch starts behind the login
    const keys = b.keysOf('cluster-a')!;
    const fetchesBefore = keys.fetches;
    assert.equal((await b.authenticate('k8s', await mint())).kind, 'ok', 'answered with the cached keys');
    assert.equal(keys.fetches, fetchesBefore + 1, 'the refetch is under way');
    await assert.rejects(keys.refresh(), /no complete answer within 400 ms/, 'the refetch ends at its deadline');
    const cold = open({ timeoutMs: 400 });
    const e = await refusal(cold.authenticate('k8s', await mint()));
    assert.match(e.message, /no complete answer within 400 ms/);
  });

  it('bearerTokenFile goes only to the configured origin, not to a jwks_uri elsewhere that discovery names', async () => {
    const other = await new SimulatedIssuer().start();
    try {
      other.keys = cluster.keys;
      cluster.jwksUri = `${other.url}/openid/v1/jwks`;
      const tokenFile = join(tmp.dir, 'sa-token');
      writeFileSync(tokenFile, 'sa-token');
      writeIssuers({ bearerTokenFile: tokenFile });
      assert.equal((await open().authenticate('k8s', await mint())).kind, 'ok');
      assert.deepEqual(cluster.requests.map((r) => [r.path, r.authorization]), [['/.well-known/openid-configuration', 'Bearer sa-token']]);
      assert.deepEqual(other.requests.map((r) => [r.path, r.authorization]), [['/openid/v1/jwks', undefined]]);
      // Configured on purpose (jwks.url), that origin gets it.
      backend?.close();
      writeIssuers({ bearerTokenFile: tokenFile, jwks: { url: `${other.url}/openid/v1/jwks` } });
      assert.equal((await open().authenticate('k8s', await mint())).kind, 'ok');
      assert.equal(other.requests.at(-1)?.authorization, 'Bearer sa-token');
    } finally {
      await other.stop();
    }
  });

  it('key rotation (new kid): the first login with it refetches once, then every login works without fetching', async () => {
    const b = open();
    await b.authenticate('k8s', await mint());
    clock += 31_000;
    cluster.rotate();
    const before = cluster.jwksFetches();
    for (let i = 0; i < 3; i++) assert.equal((await b.authenticate('k8s', await mint())).kind, 'ok');
    assert.equal(cluster.jwksFetches(), before + 1);
  });

  it('concurrent logins with a new kid share one refetch', async () => {
    const b = open();
    await b.authenticate('k8s', await mint());
    clock += 31_000;
    cluster.rotate();
    const before = cluster.jwksFetches();
    const tokens = await Promise.all([1, 2, 3, 4].map(() => mint()));
    const results = await Promise.all(tokens.map((t) => b.authenticate('k8s', t)));
    assert.deepEqual(results.map((r) => r.kind), ['ok', 'ok', 'ok', 'ok']);
    assert.equal(cluster.jwksFetches(), before + 1);
  });

  it('issuer down: logins fail closed (throw → 503), stale keys serve up to 1 h, then fail closed', async () => {
    const b = open({ retryMs: 0 });
    await b.authenticate('k8s', await mint());
    cluster.down = true;
    clock += 11 * 60_000; // past the 10 min freshness: a refetch is tried, fails, the old keys still serve
    assert.equal((await b.authenticate('k8s', await mint())).kind, 'ok');
    clock += 60 * 60_000;
    const e = await refusal(b.authenticate('k8s', await mint()));
    assert.ok(e.thrown, 'not a refused result: could not decide, the chain turns it into 503');
    assert.match(e.message, /keys of issuer cluster-a unavailable: GET .* answered 503/);
    assert.equal(logins.at(-1), 'unavailable');
    cluster.down = false;
    assert.equal((await b.authenticate('k8s', await mint())).kind, 'ok');
  });

  it('discovery whose issuer is not ours is refused (no keys: fail closed)', async () => {
    writeIssuers({ issuer: `${cluster.url}/other`, jwks: { url: `${cluster.url}/openid/v1/jwks` } });
    const viaUrl = open();
    assert.equal((await viaUrl.authenticate('k8s', await mint({ claims: { iss: `${cluster.url}/other` } }))).kind, 'ok', 'jwks.url needs no discovery');
    viaUrl.close();
    // Discovery at <issuer>/.well-known answers 404 here, and the real discovery document names another issuer.
    writeIssuers({ issuer: `${cluster.url}/other` });
    const e = await refusal(open().authenticate('k8s', await mint({ claims: { iss: `${cluster.url}/other` } })));
    assert.ok(e.thrown);
    assert.match(e.message, /unavailable/);
  });

  it('jwks from a file', async () => {
    writeFileSync(join(tmp.dir, 'jwks.json'), JSON.stringify(cluster.jwks()));
    writeIssuers({ jwks: { file: join(tmp.dir, 'jwks.json') } });
    assert.equal((await open().authenticate('k8s', await mint())).kind, 'ok');
    assert.equal(cluster.requests.length, 0);
  });

  it('bearerTokenFile is sent on the fetches and re-read each time (the API server\'s discovery needs auth)', async () => {
    const tokenFile = join(tmp.dir, 'sa-token');
    writeFileSync(tokenFile, 'first-token\n');
    cluster.requireBearer = 'first-token';
    writeIssuers({ bearerTokenFile: tokenFile });
    const b = open();
    assert.equal((await b.authenticate('k8s', await mint())).kind, 'ok');
    writeFileSync(tokenFile, 'second-token');
    cluster.requireBearer = 'second-token';
    clock += 31_000;
    cluster.rotate();
    assert.equal((await b.authenticate('k8s', await mint())).kind, 'ok');
    assert.deepEqual([...new Set(cluster.requests.map((r) => r.authorization))], ['Bearer first-token', 'Bearer second-token']);
  });

  it('a verification is cached by SHA-256 of the token for at most 60 s', async () => {
    const b = open();
    const token = await mint({ ttl: 3600 });
    await b.authenticate('k8s', token);
    clock += 59_000;
    await b.authenticate('k8s', token);
    clock += 2_000;
    await b.authenticate('k8s', token);
    assert.deepEqual(logins, ['ok', 'cached', 'ok']);
  });

  it('…and never past the token\'s exp', async () => {
    const b = open();
    const token = await mint({ ttl: 20 });
    assert.equal((await b.authenticate('k8s', token)).kind, 'ok');
    clock += 19_000;
    assert.equal((await b.authenticate('k8s', token)).kind, 'ok');
    clock += 2_000;
    const e = await refusal(b.authenticate('k8s', token));
    assert.equal(e.status, 401);
    assert.deepEqual(logins, ['ok', 'cached', 'expired']);
  });

  it('concurrent logins with one token share one verification', async () => {
    const b = open();
    const token = await mint();
    const results = await Promise.all([1, 2, 3].map(() => b.authenticate('k8s', token)));
    assert.deepEqual(results.map((r) => r.kind), ['ok', 'ok', 'ok']);
    assert.deepEqual(logins, ['ok', 'cached', 'cached'], 'one verification, two joined it');
    await b.authenticate('k8s', token);
    assert.equal(logins.at(-1), 'cached');
  });

  it('the cache is bounded: the oldest verification is dropped first', async () => {
    const b = createOidcBackend({ path: file(), logger: silent, watch: noWatch, now: () => clock, cacheMaxEntries: 2, onLogin: (_i, r) => logins.push(r) });
    backend = b;
    const [t1, t2, t3] = await Promise.all([mint(), mint(), mint()]);
    for (const t of [t1!, t2!, t3!, t3!, t2!, t1!]) await b.authenticate('k8s', t);
    assert.deepEqual(logins, ['ok', 'ok', 'ok', 'cached', 'cached', 'ok']);
  });

  it('the result carries account, notAfter = exp and the audit fields', async () => {
    const token = await mint({ ttl: 600, namespace: 'team-b', serviceAccount: 'deployer', claims: { jti: 'j-1' } });
    const r = await open().authenticate('k8s', token);
    assert.ok(r.kind === 'ok');
    assert.equal(r.account, 'system:serviceaccount:team-b:deployer');
    assert.equal(r.notAfter, Math.floor(clock / 1000) + 600);
    assert.deepEqual(r.audit, { issuer: 'cluster-a', namespace: 'team-b', token_jti: 'j-1' });
  });

  it('reload: a bad new file keeps the last good one; a good one applies at once', async () => {
    const reloads: boolean[] = [];
    backend = createOidcBackend({ path: file(), logger: silent, watch: noWatch, now: () => clock, onReload: (ok) => reloads.push(ok) });
    const token = await mint();
    writeFileSync(file(), 'issuers:\n  - name: cluster-a\n    audiences: []\n');
    await backend.reload();
    assert.equal((await backend.authenticate('k8s', token)).kind, 'ok', 'previous issuers still serve');
    writeIssuers({ audiences: ['another-registry'] });
    await backend.reload();
    const e = await refusal(backend.authenticate('k8s', token));
    assert.match(e.message, /audience is not one of another-registry/);
    assert.deepEqual(reloads, [true, false, true]);
  });

  it('through the server: issuer down at start does not stop it; password users log in; JWT logins get 503 + Retry-After, never a token', async () => {
    cluster.down = true;
    writeFileSync(join(tmp.dir, 'users.yaml'), stringify({ users: { alice: { password: bcrypt.hashSync('alice-pw', 4) } } }));
    const creds = await createCredentials({ oidc: { path: file(), keys: { retryMs: 0 } }, usersFile: join(tmp.dir, 'users.yaml'), logger: silent, watch: noWatch });
    const keys = await makeKeys(tmp.dir);
    const authz = await new StandInAuthz(() => ['pull']).start();
    const t = testApp({ keys, authzUrl: authz.url, credentials: creds });
    try {
      const q = '/auth?service=registry.test&scope=repository:team-a/app:pull';
      await request(t.app).get(q).set('Authorization', basic('alice', 'alice-pw')).expect(200);
      const token = await cluster.mint();
      const res = await request(t.app).get(q).set('Authorization', basic('k8s', token));
      assert.equal(res.status, 503);
      assert.equal(res.headers['retry-after'], '5');
      assert.equal(res.body.token, undefined);
      cluster.down = false;
      await request(t.app).get(q).set('Authorization', basic('k8s', token)).expect(200);
    } finally {
      t.authzClient.close();
      creds.close();
      await authz.stop();
    }
  });
});

describe('authn serve --oidc-issuers (startServer wiring, SIMULATED issuer)', () => {
  it('a JWT login through the real server; /metrics counts the login, the key fetch and the reload', async () => {
    const tmp = tempDir();
    const cluster = await new SimulatedIssuer().start();
    const authz = await new StandInAuthz((r) => (r.Labels?.namespace?.[0] === 'team-a' && r.Name.startsWith('team-a/') ? ['pull'] : [])).start();
    const { startServer } = await import('../src/main.js');
    const { generateKeyFiles } = await import('../src/keys/generate.js');
    const { CLIENT_TOKEN } = await import('./helpers.js');
    const k = generateKeyFiles(join(tmp.dir, 'keys'), { alg: 'ES256' });
    writeFileSync(join(tmp.dir, 'client.token'), CLIENT_TOKEN);
    writeFileSync(join(tmp.dir, 'issuers.yaml'), stringify({ issuers: [{ name: 'cluster-a', usernames: ['k8s'], issuer: cluster.url, audiences: ['registry.test'], insecure: true }] }));
    const srv = await startServer(
      { listen: '127.0.0.1:0', authzUrl: authz.url, authzTokenFile: join(tmp.dir, 'client.token'), key: k.keyFile, cert: k.certFile, service: ['registry.test'], oidcIssuers: join(tmp.dir, 'issuers.yaml'), logLevel: 'silent' },
    );
    try {
      const token = await cluster.mint({ audiences: ['registry.test'] });
      const res = await fetch(`${srv.url}/auth?service=registry.test&scope=repository:team-a/app:pull`, { headers: { authorization: basic('k8s', token) } });
      assert.equal(res.status, 200);
      const body = (await res.json()) as { access_token: string };
      const claims = JSON.parse(Buffer.from(body.access_token.split('.')[1]!, 'base64url').toString()) as { sub: string; access: unknown[] };
      assert.equal(claims.sub, 'system:serviceaccount:team-a:builder');
      assert.equal(claims.access.length, 1);
      const metrics = await (await fetch(`${srv.url}/metrics`)).text();
      assert.match(metrics, /tollgate_authn_oidc_logins_total\{issuer="cluster-a",result="ok"\} 1/);
      assert.match(metrics, /tollgate_authn_oidc_key_fetches_total\{issuer="cluster-a",outcome="ok"\} 1/);
      assert.match(metrics, /tollgate_authn_credential_reloads_total\{backend="oidc",result="ok"\} 1/);
    } finally {
      await srv.close();
      await Promise.all([authz.stop(), cluster.stop()]);
      tmp.cleanup();
    }
  });
});
