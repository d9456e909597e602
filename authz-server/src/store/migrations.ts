/**
 * Versioned schema, one list for both engines: each version has its SQLite and its PostgreSQL text
 * (same tables, same constraints, each dialect's types). Each engine applies pending versions in order,
 * one transaction each, and refuses a database whose version is newer than this build.
 */
export interface Migration {
  version: number;
  description: string;
  sqlite: string;
  postgres: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'roles and bindings',
    sqlite: `
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
    postgres: `
      -- Binary collation: the same order and equality as SQLite, whatever the database's locale.
      CREATE TABLE roles (
        name TEXT COLLATE "C" PRIMARY KEY NOT NULL,
        permissions TEXT NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
      );
      CREATE TABLE bindings (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        account_name TEXT COLLATE "C" NOT NULL,
        role_name TEXT COLLATE "C" NOT NULL REFERENCES roles(name),
        namespace TEXT COLLATE "C" NOT NULL DEFAULT '',
        is_pattern SMALLINT NOT NULL CHECK (is_pattern IN (0, 1))
      );
      CREATE UNIQUE INDEX bindings_account ON bindings(account_name, role_name, namespace);
      CREATE INDEX bindings_role ON bindings(role_name);
      CREATE INDEX bindings_pattern ON bindings(is_pattern) WHERE is_pattern = 1;
    `,
  },
  {
    version: 2,
    description: 'robot accounts (robots/): keyed hashes of their secrets, never the secrets',
    sqlite: `
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
    postgres: `
      CREATE TABLE robots (
        account TEXT COLLATE "C" PRIMARY KEY NOT NULL,
        namespace TEXT COLLATE "C" NOT NULL,
        name TEXT COLLATE "C" NOT NULL,
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
        id SMALLINT PRIMARY KEY CHECK (id = 1),
        hmac_key BYTEA NOT NULL
      );
    `,
  },
  {
    version: 5,
    description: 'console sessions (console/): the SHA-256 of each session id, never the id',
    sqlite: `
      CREATE TABLE console_sessions (
        id_hash TEXT PRIMARY KEY NOT NULL,
        principal TEXT NOT NULL,
        csrf TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        last_seen_at INTEGER NOT NULL
      );
      CREATE INDEX console_sessions_created ON console_sessions(created_at);
    `,
    postgres: `
      CREATE TABLE console_sessions (
        id_hash TEXT COLLATE "C" PRIMARY KEY NOT NULL,
        principal TEXT NOT NULL,
        csrf TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        last_seen_at BIGINT NOT NULL
      );
      CREATE INDEX console_sessions_created ON console_sessions(created_at);
    `,
  },
];

export const SCHEMA_VERSION = MIGRATIONS.reduce((max, m) => Math.max(max, m.version), 0);

export function newerSchemaError(current: number, latest: number): Error {
  return new Error(`database schema version ${current} is newer than this tollgate supports (${latest}); upgrade tollgate`);
}

export const pending = (migrations: readonly Migration[], current: number): Migration[] =>
  [...migrations].sort((a, b) => a.version - b.version).filter((m) => m.version > current);

export const latestOf = (migrations: readonly Migration[]): number => migrations.reduce((max, m) => Math.max(max, m.version), 0);
