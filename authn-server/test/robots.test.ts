/**
 * Robot logins end to end inside one process: the real authz-server app (SQLite, robots, /authorized)
 * on a real port, authn asking it with the client token. Basic `robot:<ns>+<name>:<secret>` is split
 * after the account's own colon (PROTOCOL.md §10).
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import request from 'supertest';
import { createLogger } from '../../common/logger.js';
import { createApp as createAuthzApp } from '../../authz-server/src/app.js';
import { AuthzStore } from '../../authz-server/src/store/decision-cache.js';
import { SqliteStore } from '../../authz-server/src/store/sqlite/index.js';
import { createCredentials, type Credentials } from '../src/credentials/index.js';
import { createRobotsBackend } from '../src/credentials/robots-backend.js';
import type { KeySet } from '../src/keys/load.js';
import { parseBasic } from '../src/request/basic.js';
import { basic, CLIENT_TOKEN, decodeJwt, logger, makeKeys, tempDir, testApp, type TestApp } from './helpers.js';

const ADMIN = 'robots-test-admin-token';
const S = 'registry.test';

describe('robot accounts through authn (real authz-server app)', () => {
  let tmp: ReturnType<typeof tempDir>;
  let keys: KeySet;
  let store: AuthzStore;
  let authzServer: Server;
  let authzUrl: string;
  let creds: Credentials;
  let t: TestApp;
  let now: number;

  before(async () => {
    tmp = tempDir();
    keys = await makeKeys(tmp.dir);
  });
  after(() => tmp.cleanup());

  beforeEach(async () => {
    store = await AuthzStore.create(SqliteStore.open(join(tmp.dir, `authz-${Date.now()}-${Math.random()}.db`)));
    const app = createAuthzApp({ store, logger: createLogger({ name: 'authz', level: 'silent' }), tokens: { admin: ADMIN, client: CLIENT_TOKEN } });
    authzServer = createServer(app).listen(0, '127.0.0.1');
    await new Promise((r) => authzServer.once('listening', r));
    authzUrl = `http://127.0.0.1:${(authzServer.address() as AddressInfo).port}`;
    now = Date.now();
    creds = await createCredentials({ logger, extra: [createRobotsBackend({ authzUrl, token: CLIENT_TOKEN, now: () => now })] });
    t = testApp({ keys, authzUrl, credentials: creds });
  });
  afterEach(async () => {
    t.authzClient.close();
    creds.close();
    authzServer.closeAllConnections();
    await new Promise((r) => authzServer.close(r));
    await store.close();
  });

  const robot = async (name: string, actions: string[]) =>
    (await request(authzUrl).post('/robots').set('Authorization', `Bearer ${ADMIN}`).send({ namespace: 'team-a', name, actions }).expect(201)).body as { account: string; secret: string };
  const token = (user: string, secret: string, scope: string) => request(t.app).get(`/auth?service=${S}&scope=${scope}`).set('Authorization', basic(user, secret));
  const access = (res: { body: { token: string } }) => decodeJwt(res.body.token).claims.access;

  it('Basic auth splits after the robot account\'s colon; other users split at the first', () => {
    assert.deepEqual(parseBasic(basic('robot:team-a+ci', 'tgr_abc:def')), { user: 'robot:team-a+ci', password: 'tgr_abc:def' });
    assert.deepEqual(parseBasic(basic('alice', 'pw:with:colons')), { user: 'alice', password: 'pw:with:colons' });
    assert.throws(() => parseBasic(`Basic ${Buffer.from('robot:no-second-colon').toString('base64')}`), /user:password/);
  });

  it('a pull robot pulls its namespace only; it cannot push, nor see the catalog or another namespace', async () => {
    const r = await robot('puller', ['pull']);
    const res = await token(r.account, r.secret, 'repository:team-a/app:pull,push').expect(200);
    assert.equal(decodeJwt(res.body.token).claims.sub, 'robot:team-a+puller');
    assert.deepEqual(access(res), [{ type: 'repository', name: 'team-a/app', actions: ['pull'] }]);
    assert.deepEqual(access(await token(r.account, r.secret, 'repository:team-b/app:pull').expect(200)), []);
    assert.deepEqual(access(await token(r.account, r.secret, 'registry:catalog:*').expect(200)), []);
    await token(r.account, 'tgr_wrong', 'repository:team-a/app:pull').expect(401);
    // skopeo --creds splits at the first colon and names the account "robot"; any other name is still refused.
    await request(t.app).get(`/auth?service=${S}&account=robot&scope=repository:team-a/app:pull`).set('Authorization', basic(r.account, r.secret)).expect(200);
    await request(t.app).get(`/auth?service=${S}&account=robot:team-b%2Bci&scope=repository:team-a/app:pull`).set('Authorization', basic(r.account, r.secret)).expect(400);
    await token('robot:team-a+nobody', r.secret, 'repository:team-a/app:pull').expect(401);
  });

  it('a push robot pushes; the password grant takes the account as is', async () => {
    const r = await robot('pusher', ['pull', 'push']);
    const res = await request(t.app).post('/auth').type('form').send({ grant_type: 'password', username: r.account, password: r.secret, service: S, client_id: 'x', scope: 'repository:team-a/app:pull,push' }).expect(200);
    assert.deepEqual(access(res), [{ type: 'repository', name: 'team-a/app', actions: ['pull', 'push'] }]);
  });

  it('a success is cached at most 60 s: a deleted robot stops within that time', async () => {
    const r = await robot('ci', ['pull']);
    await token(r.account, r.secret, 'repository:team-a/app:pull').expect(200);
    await request(authzUrl).delete(`/robots/${r.account}`).set('Authorization', `Bearer ${ADMIN}`).expect(200);
    // Still cached for the credential check; authz already grants nothing to a deleted robot.
    assert.deepEqual(access(await token(r.account, r.secret, 'repository:team-a/app:pull').expect(200)), []);
    now += 60_001;
    await token(r.account, r.secret, 'repository:team-a/app:pull').expect(401);
  });

  it('rotation: both secrets log in during the overlap; refresh tokens of the old secret stop', async () => {
    const r = await robot('ci', ['pull']);
    const rt = (await request(t.app).get(`/auth?service=${S}&offline_token=true&client_id=x`).set('Authorization', basic(r.account, r.secret)).expect(200)).body.refresh_token as string;
    const rot = (await request(authzUrl).post(`/robots/${r.account}/rotate`).set('Authorization', `Bearer ${ADMIN}`).send({ overlap: '1h' }).expect(200)).body as { secret: string };
    now += 61_000;
    await token(r.account, r.secret, 'repository:team-a/app:pull').expect(200);
    await token(r.account, rot.secret, 'repository:team-a/app:pull').expect(200);
    await request(t.app).post('/auth').type('form').send({ grant_type: 'refresh_token', refresh_token: rt, service: S, client_id: 'x' }).expect(401);
  });

  it('a refresh token never outlives the robot (ttl)', async () => {
    const r = (await request(authzUrl).post('/robots').set('Authorization', `Bearer ${ADMIN}`).send({ namespace: 'team-a', name: 'short', actions: ['pull'], ttl: '2h' }).expect(201)).body as { account: string; secret: string; expires_at: string };
    const rt = (await request(t.app).get(`/auth?service=${S}&offline_token=true&client_id=x`).set('Authorization', basic(r.account, r.secret)).expect(200)).body.refresh_token as string;
    assert.equal(decodeJwt(rt).claims.exp, Math.floor(Date.parse(r.expires_at) / 1000));
  });

  it('authz down: robot logins are 503 with Retry-After, never a guess', async () => {
    const r = await robot('ci', ['pull']);
    authzServer.closeAllConnections();
    await new Promise((res) => authzServer.close(res));
    const res = await token(r.account, r.secret, 'repository:team-a/app:pull').expect(503);
    assert.ok(Number(res.headers['retry-after']) >= 1);
    authzServer = (await import('node:http')).createServer();
    authzServer.listen(0, '127.0.0.1');
  });
});
