/**
 * Versioned schema. `PRAGMA user_version` holds the applied version; each migration runs in its own
 * transaction at start. A database newer than this build is refused rather than guessed at.
 */
import type { Database } from 'better-sqlite3';

export interface Migration {
  version: number;
  description: string;
  sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'roles and bindings',
    sql: `
      CREATE TABLE roles (
        name TEXT PRIMARY KEY NOT NULL,
        permissions TEXT NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
      );
      CREATE TABLE bindings (
        id INTEGER PRIMARY KEY,
        account_name TEXT NOT NULL,
        role_name TEXT NOT NULL REFERENCES roles(name),
        namespace TEXT NOT NULL DEFAULT '',
        is_pattern INTEGER NOT NULL CHECK (is_pattern IN (0, 1))
      );
      -- A decision reads only the account's rows (this index) plus the pattern rows (the partial index).
      CREATE UNIQUE INDEX bindings_account ON bindings(account_name, role_name, namespace);
      CREATE INDEX bindings_role ON bindings(role_name);
      CREATE INDEX bindings_pattern ON bindings(is_pattern) WHERE is_pattern = 1;
    `,
  },
  {
    version: 2,
    description: 'robot accounts (robots/): keyed hashes of their secrets, never the secrets',
    sql: `
      CREATE TABLE robots (
        account TEXT PRIMARY KEY NOT NULL,
        namespace TEXT NOT NULL,
        name TEXT NOT NULL,
        actions TEXT NOT NULL,
        created_at TEXT NOT NULL,
        expires_at TEXT,
        rotated_at TEXT,
        secret_hash TEXT NOT NULL,
        previous_hash TEXT,
        previous_until TEXT
      );
      CREATE INDEX robots_namespace ON robots(namespace);
      CREATE TABLE robot_hash_key (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        hmac_key BLOB NOT NULL
      );
    `,
  },
];

export const SCHEMA_VERSION = MIGRATIONS.reduce((max, m) => Math.max(max, m.version), 0);

/** Applies pending migrations; returns the versions applied. */
export function migrate(db: Database, migrations: readonly Migration[] = MIGRATIONS): number[] {
  const current = db.pragma('user_version', { simple: true }) as number;
  const latest = migrations.reduce((max, m) => Math.max(max, m.version), 0);
  if (current > latest) {
    throw new Error(`database schema version ${current} is newer than this tollgate supports (${latest}); upgrade tollgate`);
  }
  const applied: number[] = [];
  for (const m of [...migrations].sort((a, b) => a.version - b.version)) {
    if (m.version <= current) continue;
    db.transaction(() => {
      db.exec(m.sql);
      db.pragma(`user_version = ${m.version}`);
    })();
    applied.push(m.version);
  }
  return applied;
}
