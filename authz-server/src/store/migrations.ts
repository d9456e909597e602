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
    version: 3,
    description: 'scoped API tokens (tokens/): SHA-256 of the token only, never the token',
    sqlite: `
      CREATE TABLE api_tokens (
        id TEXT PRIMARY KEY NOT NULL,
        name TEXT NOT NULL UNIQUE,
        token_hash TEXT NOT NULL UNIQUE,
        namespaces TEXT NOT NULL,
        abilities TEXT NOT NULL,
        created_at TEXT NOT NULL,
        expires_at TEXT,
        last_used_at TEXT
      );
    `,
    postgres: `
      CREATE TABLE api_tokens (
        id TEXT COLLATE "C" PRIMARY KEY NOT NULL,
        name TEXT COLLATE "C" NOT NULL UNIQUE,
        token_hash TEXT COLLATE "C" NOT NULL UNIQUE,
        namespaces TEXT NOT NULL,
        abilities TEXT NOT NULL,
        created_at TEXT NOT NULL,
        expires_at TEXT,
        last_used_at TEXT
      );
    `,
  },
  {
    version: 4,
    description: 'change feed (a revision per committed change, routes/changes.ts) and robot generation ids',
    sqlite: `
      -- One row per committed change; rev only grows (AUTOINCREMENT never reuses a number).
      CREATE TABLE changes (
        rev INTEGER PRIMARY KEY AUTOINCREMENT,
        kind TEXT NOT NULL,
        subject TEXT,
        detail TEXT,
        at TEXT NOT NULL
      );
      -- This database's id (a feed client that reconnects elsewhere is told to drop everything) and how
      -- far old changes were trimmed (a since older than that gets a reset).
      CREATE TABLE feed_meta (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        database_id TEXT NOT NULL,
        trimmed_through INTEGER NOT NULL DEFAULT 0
      );
      INSERT INTO feed_meta (id, database_id) VALUES (1, lower(hex(randomblob(16))));
      ALTER TABLE robots ADD COLUMN generation TEXT NOT NULL DEFAULT '';
      UPDATE robots SET generation = lower(hex(randomblob(16)));
    `,
    postgres: `
      -- rev is one sequence shared by every replica; writers append under a table lock (changes.ts),
      -- so revisions become visible in commit order and a reader never skips one.
      CREATE TABLE changes (
        rev BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        kind TEXT NOT NULL,
        subject TEXT COLLATE "C",
        detail TEXT,
        at TEXT NOT NULL
      );
      CREATE TABLE feed_meta (
        id SMALLINT PRIMARY KEY CHECK (id = 1),
        database_id TEXT NOT NULL,
        trimmed_through BIGINT NOT NULL DEFAULT 0
      );
      INSERT INTO feed_meta (id, database_id) VALUES (1, md5(random()::text || clock_timestamp()::text));
      ALTER TABLE robots ADD COLUMN generation TEXT NOT NULL DEFAULT '';
      UPDATE robots SET generation = md5(random()::text || account);
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
