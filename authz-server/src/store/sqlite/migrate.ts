/** SQLite migrations: `PRAGMA user_version` holds the applied version; each version in its own transaction. */
import type { Database } from 'better-sqlite3';
import { latestOf, MIGRATIONS, newerSchemaError, pending, type Migration } from '../migrations.js';

/** Applies pending migrations; returns the versions applied. */
export function migrate(db: Database, migrations: readonly Migration[] = MIGRATIONS): number[] {
  const current = db.pragma('user_version', { simple: true }) as number;
  const latest = latestOf(migrations);
  if (current > latest) throw newerSchemaError(current, latest);
  const applied: number[] = [];
  for (const m of pending(migrations, current)) {
    db.transaction(() => {
      db.exec(m.sqlite);
      db.pragma(`user_version = ${m.version}`);
    })();
    applied.push(m.version);
  }
  return applied;
}
