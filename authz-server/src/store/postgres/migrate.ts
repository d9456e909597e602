/**
 * PostgreSQL migrations: the same versions as SQLite, recorded in `tollgate_schema_version`. Each
 * pending version runs in its own transaction holding a transaction-level advisory lock, so replicas
 * starting together apply it once (the others wait, then find nothing to do).
 */
import type pg from 'pg';
import { latestOf, MIGRATIONS, newerSchemaError, type Migration } from '../migrations.js';

/** "tollgate" in ASCII: one lock key for every replica of every version. */
export const MIGRATION_LOCK = 0x746f6c6c67617465n;

async function versionUnderLock(c: pg.PoolClient): Promise<number> {
  await c.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK.toString()]);
  const { rows } = await c.query<{ t: string | null; roles: string | null; bindings: string | null }>(
    "SELECT to_regclass('tollgate_schema_version')::text AS t, to_regclass('roles')::text AS roles, to_regclass('bindings')::text AS bindings",
  );
  const found = rows[0];
  if (!found?.t) {
    // Tables named like ours without our version table: someone else's schema; do not write into it.
    const foreign = [found?.roles, found?.bindings].filter(Boolean);
    if (foreign.length > 0) {
      throw new Error(`database has table(s) ${foreign.join(', ')} but no tollgate_schema_version: it is not a tollgate database; point --db at an empty database`);
    }
    await c.query('CREATE TABLE tollgate_schema_version (version integer NOT NULL)');
    await c.query('INSERT INTO tollgate_schema_version (version) VALUES (0)');
    return 0;
  }
  const v = await c.query<{ version: number }>('SELECT version FROM tollgate_schema_version');
  return v.rows[0]?.version ?? 0;
}

/** Applies pending migrations; returns the versions this call applied. */
export async function migrate(pool: pg.Pool, migrations: readonly Migration[] = MIGRATIONS): Promise<number[]> {
  const latest = latestOf(migrations);
  const sorted = [...migrations].sort((a, b) => a.version - b.version);
  const applied: number[] = [];
  for (;;) {
    const c = await pool.connect();
    let failed = false;
    const onError = () => (failed = true); // lost connection: the query rejects; do not crash on the event
    c.on('error', onError);
    try {
      await c.query('BEGIN');
      const current = await versionUnderLock(c);
      if (current > latest) throw newerSchemaError(current, latest);
      const next = sorted.find((m) => m.version > current);
      if (next) {
        await c.query(next.postgres);
        await c.query('UPDATE tollgate_schema_version SET version = $1', [next.version]);
      }
      await c.query('COMMIT');
      if (!next) return applied;
      applied.push(next.version);
    } catch (e) {
      failed = true;
      await c.query('ROLLBACK').catch(() => undefined);
      throw e;
    } finally {
      c.off('error', onError);
      c.release(failed);
    }
  }
}
