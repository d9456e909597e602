/**
 * `--db postgres://…` at start: where the password may come from, and every way the database can be
 * wrong (password, host, port, missing database, someone else's schema, a newer schema) → one line on
 * stderr naming what is wrong, the password never printed, exit non-zero. Migrations under the
 * advisory lock: two replicas starting together migrate once.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import axios from 'axios';
import { SCHEMA_VERSION, MIGRATIONS } from '../src/store/migrations.js';
import { migrate } from '../src/store/postgres/migrate.js';
import { PostgresStore } from '../src/store/postgres/index.js';
import { ADMIN, CLIENT, runServe, spawnServer, tempDir, type ServerProcess } from './helpers.js';
import { freePort, PG_PASSWORD, PG_USER, sharedPg, type PgServer } from './pg-server.js';

const TOKENS = { TOLLGATE_AUTHZ_ADMIN_TOKEN: ADMIN, TOLLGATE_AUTHZ_CLIENT_TOKEN: CLIENT };
const WRONG = 'wrong-password-5ecret';

function assertOneLineError(res: ReturnType<typeof runServe>, pattern: RegExp): void {
  assert.equal(res.status, 2, res.stderr);
  const lines = res.stderr.trim().split('\n');
  assert.equal(lines.length, 1, res.stderr);
  assert.match(lines[0] ?? '', pattern);
  for (const secret of [PG_PASSWORD, WRONG]) assert.doesNotMatch(res.stderr + res.stdout, new RegExp(secret));
}

describe('authz serve on PostgreSQL: start-up', () => {
  let pgs: PgServer;
  let t: ReturnType<typeof tempDir>;
  let server: ServerProcess | undefined;
  before(async () => {
    pgs = await sharedPg();
  });
  beforeEach(() => {
    t = tempDir();
  });
  afterEach(async () => {
    await server?.stop('SIGKILL');
    server = undefined;
    t.cleanup();
  });

  it('password from --db-password-file (URL without one): starts, migrates, answers; the log shows no password', async () => {
    const { name } = await pgs.createDatabase();
    const pw = join(t.dir, 'db.password');
    writeFileSync(pw, `${PG_PASSWORD}\n`);
    server = await spawnServer(['--db', `postgresql://${PG_USER}@127.0.0.1:${pgs.port}/${name}`, '--db-password-file', pw], TOKENS);
    assert.deepEqual((await axios.get(`${server.url}/readyz`)).data, { ok: true });
    assert.match(server.output(), /"engine":"postgres"/);
    assert.doesNotMatch(server.output(), new RegExp(PG_PASSWORD));
    const version = await pgs.query('SELECT version FROM tollgate_schema_version', [], name);
    assert.equal(version.rows[0]?.version, SCHEMA_VERSION);
  });

  it('password from PGPASSWORD, URL from TOLLGATE_AUTHZ_DB with the password masked in the listening line', async () => {
    const { name } = await pgs.createDatabase();
    server = await spawnServer([], { ...TOKENS, TOLLGATE_AUTHZ_DB: `postgres://${PG_USER}@127.0.0.1:${pgs.port}/${name}`, PGPASSWORD: PG_PASSWORD });
    assert.deepEqual((await axios.get(`${server.url}/readyz`)).data, { ok: true });
    const withPw = await pgs.createDatabase();
    await server.stop();
    server = await spawnServer(['--db', withPw.url], TOKENS);
    assert.match(server.output(), /postgres:\/\/tollgate:\*\*\*@127\.0\.0\.1/);
    assert.doesNotMatch(server.output(), new RegExp(PG_PASSWORD));
  });

  it('wrong password → one line "cannot log in", no password printed, exit 2', () => {
    const res = runServe(['--db', `postgres://${PG_USER}:${WRONG}@127.0.0.1:${pgs.port}/postgres`], TOKENS);
    assertOneLineError(res, /cannot log in to PostgreSQL at postgres:\/\/tollgate:\*\*\*@127\.0\.0\.1:\d+\/postgres: password authentication failed/);
  });

  it('unknown host and unreachable port → one line each naming the problem', async () => {
    const host = runServe(['--db', `postgres://${PG_USER}:${WRONG}@no-such-host.invalid:5432/authz`], TOKENS);
    assertOneLineError(host, /cannot reach PostgreSQL at postgres:\/\/tollgate:\*\*\*@no-such-host\.invalid:5432\/authz: unknown host/);
    const port = runServe(['--db', `postgres://${PG_USER}:${WRONG}@127.0.0.1:${await freePort()}/authz`], TOKENS);
    assertOneLineError(port, /connection refused, nothing listens/);
  });

  it('a database that does not exist, and one holding someone else\'s roles table → refused, nothing written', async () => {
    const missing = runServe(['--db', pgs.url('no_such_db')], TOKENS);
    assertOneLineError(missing, /database "no_such_db" does not exist/);
    const { name, url } = await pgs.createDatabase();
    await pgs.query('CREATE TABLE roles (id int)', [], name);
    const foreign = runServe(['--db', url], TOKENS);
    assertOneLineError(foreign, /has table\(s\) roles but no tollgate_schema_version: it is not a tollgate database/);
    const tables = await pgs.query("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1", [], name);
    assert.deepEqual(tables.rows.map((r) => r.tablename), ['roles']);
  });

  it('a schema newer than this build is refused', async () => {
    const { name, url } = await pgs.createDatabase();
    (await PostgresStore.open({ url })).close();
    await pgs.query('UPDATE tollgate_schema_version SET version = $1', [SCHEMA_VERSION + 3], name);
    const res = runServe(['--db', url], TOKENS);
    assertOneLineError(res, new RegExp(`schema version ${SCHEMA_VERSION + 3} is newer than this tollgate supports \\(${SCHEMA_VERSION}\\)`));
  });

  it('a URL that does not parse, or a password file with a SQLite path → config error, value not echoed', () => {
    const bad = runServe(['--db', `postgres://${PG_USER}:${WRONG}@[::1:5432/x`], TOKENS);
    assertOneLineError(bad, /invalid --db \/ TOLLGATE_AUTHZ_DB: not a valid postgres:\/\/ or postgresql:\/\/ URL/);
    const pw = join(t.dir, 'pw');
    writeFileSync(pw, 'x\n');
    const sqlite = runServe(['--db', join(t.dir, 'a.db'), '--db-password-file', pw], TOKENS);
    assertOneLineError(sqlite, /only applies to a postgres:\/\/ --db URL/);
  });
});

describe('PostgreSQL migrations', () => {
  let pgs: PgServer;
  before(async () => {
    pgs = await sharedPg();
  });

  it('two replicas starting together on an empty database: each version applied exactly once, both serve', async () => {
    const { url, name } = await pgs.createDatabase();
    const [a, b] = await Promise.all([PostgresStore.open({ url }), PostgresStore.open({ url })]);
    try {
      await a.putRole('r', [{ actions: ['pull'] }], new Date(0).toISOString());
      assert.deepEqual((await b.listRoles()).map((r) => r.name), ['r']);
      assert.deepEqual(await migrate(a.pool), [], 'nothing left to apply');
      const v = await pgs.query('SELECT version FROM tollgate_schema_version', [], name);
      assert.deepEqual(v.rows, [{ version: SCHEMA_VERSION }], 'one version row');
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('pending migrations run in order, each once; a failing one leaves the previous version and no half table', async () => {
    const { url, name } = await pgs.createDatabase();
    const s = await PostgresStore.open({ url });
    try {
      const next = { version: SCHEMA_VERSION + 1, description: 'test', sqlite: '', postgres: 'CREATE TABLE audit (id int)' };
      assert.deepEqual(await migrate(s.pool, [...MIGRATIONS, next]), [SCHEMA_VERSION + 1]);
      assert.deepEqual(await migrate(s.pool, [...MIGRATIONS, next]), []);
      const broken = { version: SCHEMA_VERSION + 2, description: 'broken', sqlite: '', postgres: 'CREATE TABLE half (id int); SELECT nonsense FROM nowhere' };
      await assert.rejects(migrate(s.pool, [...MIGRATIONS, next, broken]), /nowhere/);
      const v = await pgs.query('SELECT version FROM tollgate_schema_version', [], name);
      assert.equal(v.rows[0]?.version, SCHEMA_VERSION + 1);
      assert.equal((await pgs.query("SELECT to_regclass('half') AS t", [], name)).rows[0]?.t, null);
    } finally {
      await s.close();
    }
  });
});
