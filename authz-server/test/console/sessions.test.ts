/**
 * The console's server side on both engines: sign-in for a session cookie, the cookie accepted on
 * /ui/api only, CSRF and cross-origin refusals that write nothing, sign-out and expiry killing the
 * session, the throttle, the audit line, the security headers, and only a hash of the id stored.
 */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import request from 'supertest';
import { createLogger } from '../../../common/logger.js';
import { createApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { AuthzStore } from '../../src/store/decision-cache.js';
import { ADMIN, CLIENT, admin, ENGINES, openEngine, tempDir, type Engine } from '../helpers.js';
import { sharedPg } from '../pg-server.js';
import { PostgresStore } from '../../src/store/postgres/index.js';
import { ADMIN_PRINCIPAL } from '../../src/auth/principal.js';

const HOST = '127.0.0.1:5001';

async function consoleApp(engine: Engine, times = { idleMs: 60_000, absoluteMs: 600_000 }) {
  const { dir, cleanup } = tempDir();
  // A stand-in build (the real one is exercised by console.test.ts): what the static routes serve.
  mkdirSync(join(dir, 'ui', 'assets'), { recursive: true });
  writeFileSync(join(dir, 'ui', 'index.html'), '<!doctype html><title>console</title>');
  writeFileSync(join(dir, 'ui', 'assets', 'main-ABC.js'), 'export {};');
  const raw = await openEngine(engine, dir);
  const store = await AuthzStore.create(raw);
  let now = Date.parse('2026-01-01T00:00:00Z');
  const lines: string[] = [];
  const sink = new Writable({ write: (c: Buffer, _e, cb) => (lines.push(c.toString()), cb()) });
  const logger = createLogger({ name: 'authz-test', level: 'info', destination: sink });
  const app = createApp({
    store,
    logger,
    tokens: { admin: ADMIN, client: CLIENT },
    clock: () => new Date(now),
    console: { times, throttle: { limit: 3, windowMs: 60_000 }, registryHost: 'registry.example.com', assetsDir: join(dir, 'ui') },
  });
  const sql = async (text: string): Promise<Array<Record<string, unknown>>> =>
    'db' in raw ? (raw as unknown as { db: { prepare: (t: string) => { all: () => Array<Record<string, unknown>> } } }).db.prepare(text).all() : (await (raw as unknown as { pool: { query: (t: string) => Promise<{ rows: Array<Record<string, unknown>> }> } }).pool.query(text)).rows;
  return { app, store, lines, sql, advance: (ms: number) => (now += ms), close: async () => (await store.close(), cleanup()) };
}

async function signIn(app: ReturnType<typeof createApp>, token = ADMIN) {
  const res = await request(app).post('/ui/api/session').set('Host', HOST).send({ token });
  const cookie = (res.headers['set-cookie'] as unknown as string[] | undefined)?.[0] ?? '';
  return { res, cookie: cookie.split(';')[0] ?? '', raw: cookie, csrf: res.body.csrf as string };
}

for (const engine of ENGINES) {
  describe(`console sessions (${engine})`, function () {
    this.timeout(30_000);
    let h: Awaited<ReturnType<typeof consoleApp>>;
    beforeEach(async () => (h = await consoleApp(engine)));
    afterEach(async () => h.close());

    it('signs in with the admin token: an HttpOnly SameSite=Strict cookie on /ui, Secure over TLS, and the store keeps only its hash', async () => {
      const s = await signIn(h.app);
      assert.equal(s.res.status, 201);
      assert.deepEqual(s.res.body.principal, { kind: 'admin', name: 'admin' });
      assert.equal(s.res.body.features.registry_host, 'registry.example.com');
      assert.match(s.raw, /HttpOnly/);
      assert.match(s.raw, /SameSite=Strict/);
      assert.match(s.raw, /Path=\/ui(;|$)/);
      assert.doesNotMatch(s.raw, /Secure/);
      const tls = await request(h.app).post('/ui/api/session').set('X-Forwarded-Proto', 'https').send({ token: ADMIN });
      assert.match(String((tls.headers['set-cookie'] as unknown as string[])[0]), /; Secure/);
      const id = s.cookie.split('=')[1] ?? '';
      const rows = await h.sql('SELECT * FROM console_sessions');
      assert.equal(rows.length, 2);
      const dump = JSON.stringify(rows);
      assert.ok(!dump.includes(id), 'the session id itself is not stored');
      assert.ok(!dump.includes(ADMIN), 'the token is not stored');
      assert.ok(!h.lines.join('').includes(ADMIN), 'the token is not logged');
      assert.ok(!h.lines.join('').includes(id), 'the session id is not logged');
    });

    it('the cookie works on /ui/api only; the REST API still wants its bearer token; a bearer token is no session', async () => {
      const s = await signIn(h.app);
      assert.equal((await request(h.app).get('/ui/api/roles').set('Cookie', s.cookie)).status, 200);
      assert.equal((await request(h.app).get('/roles').set('Cookie', s.cookie)).status, 401);
      assert.equal((await request(h.app).get('/ui/api/roles').set(admin)).status, 401);
      // Client-token routes are not the console's.
      assert.equal((await request(h.app).post('/ui/api/authorized').set('Cookie', s.cookie).set('X-CSRF-Token', s.csrf).send({})).status, 404);
    });

    it('a change without the CSRF token, or from another origin, is refused (403) and writes nothing; with it, it is audited with who made it', async () => {
      const s = await signIn(h.app);
      const role = { name: 'puller', permissions: [{ actions: ['pull'] }] };
      const noCsrf = await request(h.app).post('/ui/api/add-role').set('Cookie', s.cookie).send(role);
      assert.equal(noCsrf.status, 403);
      assert.equal(noCsrf.body.error.field, 'csrf');
      const evil = await request(h.app).post('/ui/api/add-role').set('Host', HOST).set('Cookie', s.cookie).set('X-CSRF-Token', s.csrf).set('Origin', 'http://evil.example').send(role);
      assert.equal(evil.status, 403);
      const site = await request(h.app).post('/ui/api/add-role').set('Cookie', s.cookie).set('X-CSRF-Token', s.csrf).set('Sec-Fetch-Site', 'cross-site').send(role);
      assert.equal(site.status, 403);
      assert.equal((await h.store.listRoles()).length, 0);
      const ok = await request(h.app).post('/ui/api/add-role').set('Host', HOST).set('Origin', `http://${HOST}`).set('Cookie', s.cookie).set('X-CSRF-Token', s.csrf).send(role);
      assert.equal(ok.status, 201);
      const audit = h.lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.msg === 'console change');
      assert.equal(audit?.who, 'admin');
      assert.equal(audit?.path, '/add-role');
      assert.equal(audit?.status, 201);
    });

    it('sign-out ends the session server-side: the old cookie gets 401', async () => {
      const s = await signIn(h.app);
      assert.equal((await request(h.app).delete('/ui/api/session').set('Cookie', s.cookie)).status, 403, 'sign-out needs the CSRF token too');
      const out = await request(h.app).delete('/ui/api/session').set('Cookie', s.cookie).set('X-CSRF-Token', s.csrf);
      assert.equal(out.status, 200);
      assert.match(String((out.headers['set-cookie'] as unknown as string[])[0]), /Max-Age=0/);
      assert.equal((await request(h.app).get('/ui/api/roles').set('Cookie', s.cookie)).status, 401);
      assert.equal((await h.sql('SELECT * FROM console_sessions')).length, 0);
    });

    it('expires after the idle time, and after the absolute time however busy', async () => {
      const s = await signIn(h.app);
      h.advance(59_000);
      assert.equal((await request(h.app).get('/ui/api/session').set('Cookie', s.cookie)).status, 200);
      h.advance(61_000);
      assert.equal((await request(h.app).get('/ui/api/session').set('Cookie', s.cookie)).status, 401, 'idle');
      const t = await signIn(h.app);
      for (let i = 0; i < 11; i++) {
        h.advance(50_000);
        assert.equal((await request(h.app).get('/ui/api/roles').set('Cookie', t.cookie)).status, 200, `busy at ${i}`);
      }
      h.advance(50_000);
      assert.equal((await request(h.app).get('/ui/api/roles').set('Cookie', t.cookie)).status, 401, 'absolute');
    });

    it('a wrong token is 401 naming the field; repeated failures from one address are throttled (429), even for the right token', async () => {
      const wrong = await signIn(h.app, 'not-the-token');
      assert.equal(wrong.res.status, 401);
      assert.equal(wrong.res.body.error.field, 'token');
      assert.equal(wrong.cookie, '');
      const empty = await request(h.app).post('/ui/api/session').send({ token: '' });
      assert.equal(empty.status, 400);
      assert.equal(empty.body.error.field, 'token');
      await signIn(h.app, 'x');
      await signIn(h.app, 'y');
      const blocked = await signIn(h.app);
      assert.equal(blocked.res.status, 429);
      assert.ok(Number(blocked.res.headers['retry-after']) > 0);
      h.advance(61_000);
      assert.equal((await signIn(h.app)).res.status, 201);
      assert.ok(h.lines.some((l) => l.includes('console sign-in failed')));
    });

    it('a sign-in from another origin is refused (no login CSRF)', async () => {
      const res = await request(h.app).post('/ui/api/session').set('Host', HOST).set('Origin', 'http://evil.example').send({ token: ADMIN });
      assert.equal(res.status, 403);
      assert.equal(res.headers['set-cookie'], undefined);
    });

    it('GET /bindings?q= matches a substring of account, role or namespace and pages; exact filters still work', async () => {
      await h.store.putRole('puller', [{ actions: ['pull'] }]);
      await h.store.putRole('pusher', [{ actions: ['push'] }]);
      for (let i = 0; i < 30; i++) await h.store.addBinding({ account_name: `user-${i}`, role_name: i % 2 ? 'puller' : 'pusher', namespace: `team-${i % 3}` });
      const q = (s: string) => request(h.app).get(`/bindings?${s}`).set(admin);
      assert.equal((await q('q=user-1')).body.bindings.length, 11); // user-1, user-10..19
      assert.equal((await q('q=push')).body.bindings.length, 15);
      assert.equal((await q('q=team-2')).body.bindings.length, 10);
      assert.equal((await q('q=%25')).body.bindings.length, 0, 'no LIKE wildcards');
      const p1 = await q('q=user&limit=20');
      assert.equal(p1.body.bindings.length, 20);
      const p2 = await q(`q=user&limit=20&after=${p1.body.next}`);
      assert.equal(p2.body.bindings.length, 10);
      assert.equal(p2.body.next, null);
      assert.equal((await q('q=user&role=puller&namespace=team-1')).body.bindings.length, 5);
      assert.equal((await q(`q=${'x'.repeat(513)}`)).status, 400);
    });
  });
}

describe('console sessions across two PostgreSQL replicas', function () {
  this.timeout(30_000);
  it('a session made on one replica works on the other, and a sign-out on either ends it on both', async () => {
    const { url } = await (await sharedPg()).createDatabase();
    const apps = await Promise.all(
      [0, 1].map(async () => {
        const store = await AuthzStore.create(await PostgresStore.open({ url }));
        return { store, app: createApp({ store, logger: createLogger({ name: 'authz-test', level: 'silent' }), tokens: { admin: ADMIN, client: CLIENT } }) };
      }),
    );
    try {
      const [a, b] = apps as [(typeof apps)[0], (typeof apps)[0]];
      const s = await signIn(a.app);
      assert.equal(s.res.status, 201);
      assert.equal((await request(b.app).get('/ui/api/roles').set('Cookie', s.cookie)).status, 200, 'replica b knows the session');
      assert.equal((await request(b.app).delete('/ui/api/session').set('Cookie', s.cookie).set('X-CSRF-Token', s.csrf)).status, 200);
      assert.equal((await request(a.app).get('/ui/api/roles').set('Cookie', s.cookie)).status, 401, 'signed out on b: dead on a');
    } finally {
      for (const x of apps) await x.store.close();
    }
  });
});

describe('console: REST additions it relies on', () => {
  let h: Awaited<ReturnType<typeof consoleApp>>;
  before(async () => (h = await consoleApp('sqlite')));
  after(async () => h.close());

  it('add-role and PUT /roles/{name} with If-None-Match: * create only: a duplicate is 409 and the role is unchanged', async () => {
    const perms = [{ actions: ['pull'] }];
    assert.equal((await request(h.app).post('/add-role').set(admin).set('If-None-Match', '*').send({ name: 'r', permissions: perms })).status, 201);
    const dup = await request(h.app).post('/add-role').set(admin).set('If-None-Match', '*').send({ name: 'r', permissions: [{ actions: ['*'] }] });
    assert.equal(dup.status, 409);
    assert.equal(dup.body.error.field, 'name');
    assert.equal((await request(h.app).put('/roles/r').set(admin).set('If-None-Match', '*').send({ permissions: [{ actions: ['*'] }] })).status, 409);
    assert.deepEqual((await h.store.getRole('r'))?.permissions, perms);
    assert.equal((await request(h.app).put('/roles/r').set(admin).send({ permissions: [{ actions: ['*'] }] })).status, 200, 'without the header: replaced, as before');
  });

  it('/explain answers a robot with its own grant (never role bindings), and says why not', async () => {
    const made = await request(h.app).post('/robots').set(admin).send({ namespace: 'team-a', name: 'ci', actions: ['pull'] });
    assert.equal(made.status, 201);
    const ask = (Name: string, Actions: string[]) =>
      request(h.app).post('/explain').set(admin).send({ Account: 'robot:team-a+ci', Type: 'repository', Name, Service: 'tollgate-registry', IP: '127.0.0.1', Actions, Labels: { credential: ['robot'] } });
    const ok = await ask('team-a/app', ['pull']);
    assert.equal(ok.body.allowed, true);
    const push = await ask('team-a/app', ['pull', 'push']);
    assert.equal(push.body.allowed, false);
    assert.deepEqual(push.body.per_action.map((a: { action: string; granted: boolean }) => [a.action, a.granted]), [['pull', true], ['push', false]]);
    assert.ok(push.body.misses.length > 0, 'a denial says why');
    const other = await ask('team-b/app', ['pull']);
    assert.equal(other.body.allowed, false, 'another namespace: nothing');
    assert.equal(other.body.bindings_considered, 0, 'role bindings never apply to a robot');
  });

  it('replacing the admin token ends the sessions made with the old one', async () => {
    const s = await signIn(h.app);
    assert.equal((await request(h.app).get('/ui/api/roles').set('Cookie', s.cookie)).status, 200);
    const restarted = createApp({ store: h.store, logger: createLogger({ name: 'authz-test', level: 'silent' }), tokens: { admin: `${ADMIN}-new`, client: CLIENT } });
    assert.equal((await request(restarted).get('/ui/api/roles').set('Cookie', s.cookie)).status, 401);
  });

  it("the session's features are what the pages use (registry host, services); the Tokens API is the admin's, a scoped session gets 403", async () => {
    const s = await request(h.app).post('/ui/api/session').send({ token: ADMIN }).expect(201);
    assert.deepEqual(s.body.features, { registry_host: 'registry.example.com', services: ['tollgate-registry'] });
    const made = await request(h.app).post('/tokens').set('Authorization', `Bearer ${ADMIN}`).send({ name: 'viewer', namespaces: ['team-a'], abilities: ['read'] }).expect(201);
    const scoped = await request(h.app).post('/ui/api/session').send({ token: made.body.token }).expect(201);
    assert.deepEqual(scoped.body.principal, { kind: 'scoped', name: 'viewer', namespaces: ['team-a'] });
    const cookie = ((scoped.headers['set-cookie'] as unknown as string[])[0] ?? '').split(';')[0] ?? '';
    const res = await request(h.app).get('/ui/api/tokens').set('Cookie', cookie).expect(403);
    assert.match(res.body.error.message, /admin token/);
  });
});

describe('console sign-in resolver', () => {
  it('goes through the app\'s one resolver: a resolver passed in the console options is not used (a wrong token stays 401)', async () => {
    const { dir, cleanup } = tempDir();
    mkdirSync(join(dir, 'ui', 'assets'), { recursive: true });
    writeFileSync(join(dir, 'ui', 'index.html'), '<!doctype html><title>console</title>');
    const store = await AuthzStore.create(await openEngine('sqlite', dir));
    try {
      const everyoneAdmin = { resolve: async () => ADMIN_PRINCIPAL, fingerprint: () => 'x', stillValid: async () => true };
      const app = createApp({
        store,
        logger: createLogger({ name: 'authz-test', level: 'silent' }),
        tokens: { admin: ADMIN, client: CLIENT },
        // @ts-expect-error the console option has no resolver: sign-in is the REST API's resolver
        console: { resolver: everyoneAdmin, assetsDir: join(dir, 'ui') },
      });
      assert.equal((await signIn(app, 'not-the-admin-token')).res.status, 401);
      assert.equal((await signIn(app)).res.status, 201);
    } finally {
      await store.close();
      cleanup();
    }
  });
});

describe('console headers and static page', () => {
  let h: Awaited<ReturnType<typeof consoleApp>>;
  before(async () => (h = await consoleApp('sqlite')));
  after(async () => h.close());

  it('every /ui/ response carries the CSP (no unsafe-inline/eval), frame-ancestors none, nosniff and no-referrer', async () => {
    for (const path of ['/ui/', '/ui/bindings', '/ui/api/session', '/ui/api/roles']) {
      const res = await request(h.app).get(path);
      const csp = String(res.headers['content-security-policy']);
      assert.match(csp, /frame-ancestors 'none'/, path);
      assert.match(csp, /script-src 'self'/, path);
      assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/, path);
      assert.equal(res.headers['x-content-type-options'], 'nosniff', path);
      assert.equal(res.headers['referrer-policy'], 'no-referrer', path);
    }
    assert.equal((await request(h.app).get('/ui')).status, 301);
    assert.equal((await request(h.app).get('/ui/api/nothing')).status, 401);
    assert.equal((await request(h.app).get('/ui/assets/nothing.js')).status, 404);
    const asset = await request(h.app).get('/ui/assets/main-ABC.js');
    assert.equal(asset.status, 200);
    assert.match(String(asset.headers['cache-control']), /immutable/);
    const page = await request(h.app).get('/ui/robots');
    assert.equal(page.status, 200);
    assert.match(page.text, /<title>console<\/title>/);
    assert.equal(page.headers['cache-control'], 'no-store');
  });
});

describe('--registry-host', () => {
  const base = { adminTokenFile: undefined, insecureDev: true, listen: '127.0.0.1:0' };
  it('accepts host[:port] and refuses a URL, naming the flag', () => {
    assert.equal(loadConfig({ ...base, registryHost: 'registry.example.com:5000' }, {}).registryHost, 'registry.example.com:5000');
    assert.equal(loadConfig(base, { TOLLGATE_AUTHZ_REGISTRY_HOST: '127.0.0.1:5000' }).registryHost, '127.0.0.1:5000');
    assert.throws(() => loadConfig({ ...base, registryHost: 'https://registry.example.com/' }, {}), /--registry-host \/ TOLLGATE_AUTHZ_REGISTRY_HOST: must be a registry host/);
  });
});
