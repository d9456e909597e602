/** Schema migrations: applied at start, idempotent, versioned, refusing a newer database. */
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { openDatabase } from '../src/store/sqlite/db.js';
import { migrate } from '../src/store/sqlite/migrate.js';
import { MIGRATIONS, SCHEMA_VERSION } from '../src/store/migrations.js';
import { AuthzStore } from '../src/store/decision-cache.js';
import { SqliteStore } from '../src/store/sqlite/index.js';
import { req, tempDir } from './helpers.js';

describe('store migrations', () => {
  let t: ReturnType<typeof tempDir>;
  beforeEach(() => {
    t = tempDir();
  });
  afterEach(() => t.cleanup());

  it('a fresh file gets the latest schema, WAL, foreign keys and synchronous=FULL; parent dir created', () => {
    const file = join(t.dir, 'nested', 'dir', 'authz.db');
    const db = openDatabase(file);
    assert.equal(db.pragma('user_version', { simple: true }), SCHEMA_VERSION);
    assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
    assert.equal(db.pragma('foreign_keys', { simple: true }), 1);
    assert.equal(db.pragma('synchronous', { simple: true }), 2);
    const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").pluck().all();
    assert.deepEqual(tables, ['api_tokens', 'bindings', 'changes', 'console_sessions', 'feed_meta', 'robot_hash_key', 'robots', 'roles', 'sqlite_sequence']);
    db.close();
  });

  it('reopening applies nothing and keeps the data', async () => {
    const file = join(t.dir, 'authz.db');
    const s = await AuthzStore.create(SqliteStore.open(file));
    await s.putRole('r', [{ actions: ['pull'] }]);
    await s.close();
    const db = new Database(file);
    assert.deepEqual(migrate(db), []);
    db.close();
    const again = await AuthzStore.create(SqliteStore.open(file));
    assert.deepEqual((await again.listRoles()).map((r) => r.name), ['r']);
    await again.close();
  });

  it('pending migrations run in order, each once, and bump user_version', () => {
    const db = new Database(join(t.dir, 'm.db'));
    const extra = [...MIGRATIONS, { version: SCHEMA_VERSION + 1, description: 'test', sqlite: 'CREATE TABLE audit (id INTEGER PRIMARY KEY)', postgres: '' }];
    assert.deepEqual(migrate(db, MIGRATIONS), MIGRATIONS.map((m) => m.version));
    assert.deepEqual(migrate(db, extra), [SCHEMA_VERSION + 1]);
    assert.equal(db.pragma('user_version', { simple: true }), SCHEMA_VERSION + 1);
    assert.deepEqual(migrate(db, extra), []);
    db.close();
  });

  it('a failing migration leaves the database at the previous version', () => {
    const db = new Database(join(t.dir, 'f.db'));
    migrate(db);
    const bad = [...MIGRATIONS, { version: SCHEMA_VERSION + 1, description: 'broken', sqlite: 'CREATE TABLE half (id INTEGER); SELECT nonsense FROM nowhere;', postgres: '' }];
    assert.throws(() => migrate(db, bad));
    assert.equal(db.pragma('user_version', { simple: true }), SCHEMA_VERSION);
    assert.equal(db.prepare("SELECT count(*) FROM sqlite_master WHERE name = 'half'").pluck().get(), 0);
    db.close();
  });

  it('a database from a newer tollgate is refused with a clear message', () => {
    const file = join(t.dir, 'new.db');
    const db = new Database(file);
    db.pragma(`user_version = ${SCHEMA_VERSION + 5}`);
    db.close();
    assert.throws(() => openDatabase(file), /newer than this tollgate supports/);
  });

  it('a decision reads the account\'s bindings through the index and never scans the bindings table', async () => {
    const file = join(t.dir, 'plan.db');
    const raw = SqliteStore.open(file);
    const seed = await AuthzStore.create(raw);
    await seed.putRole('r', [{ name: 'a/**', actions: ['pull'] }]);
    for (let i = 0; i < 2000; i++) await seed.addBinding({ account_name: `u${i}`, role_name: 'r', namespace: `ns${i % 7}` });
    await seed.addBinding({ account_name: 'svc:*', role_name: 'r' });
    raw.db.exec('ANALYZE');
    await seed.close();
    // Capture the statements the store really runs for decisions (cold caches), then ask SQLite how it runs them.
    const executed: string[] = [];
    const db = new Database(file, { verbose: (sql) => executed.push(String(sql)) });
    const store = await AuthzStore.create(new SqliteStore(db));
    executed.length = 0;
    assert.equal((await store.decide(req({ Account: 'u1500', Name: 'a/x' }))).allowed, true);
    assert.equal((await store.decide(req({ Account: 'svc:ci', Name: 'a/x' }))).allowed, true);
    assert.equal((await store.decide(req({ Account: 'nobody', Name: 'a/x' }))).allowed, false);
    const reads = [...new Set(executed)].filter((sql) => /\bFROM bindings\b/i.test(sql));
    assert.ok(reads.length >= 2, `decisions read bindings: ${executed.join(' | ')}`);
    const plans = reads.map((sql) => (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all() as Array<{ detail: string }>).map((r) => r.detail).join('; '));
    for (const plan of plans) {
      // A full scan would read every binding of every account on each decision.
      assert.doesNotMatch(plan, /SCAN bindings(?! USING (COVERING )?INDEX bindings_pattern)/, plan);
    }
    assert.ok(plans.some((p) => /SEARCH bindings USING COVERING INDEX bindings_account \(account_name=\?\)/.test(p)), plans.join('\n'));
    assert.ok(plans.some((p) => /INDEX bindings_pattern/.test(p)), plans.join('\n'));
    db.close();
  });
});
