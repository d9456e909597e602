/**
 * Opens the SQLite file: WAL for concurrent readers, synchronous=FULL so an acknowledged write
 * survives kill -9 and power loss, foreign keys on, migrations applied. A new database file is
 * created 0600 (SQLite gives its -wal and -shm files the same mode): roles and bindings say who may
 * push where, and the directory (`./data` under `tollgate start`) may be readable by others.
 */
import Database from 'better-sqlite3';
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import { migrate } from './migrate.js';

export type Db = Database.Database;

export function openDatabase(file: string): Db {
  if (file !== ':memory:') {
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    // 'a' creates it with this mode when missing and leaves an existing file (and its mode) alone.
    closeSync(openSync(file, 'a', 0o600));
  }
  const db = new Database(file);
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.pragma('foreign_keys = ON');
    db.pragma('busy_timeout = 5000');
    db.pragma('cache_size = -65536');
    migrate(db);
  } catch (e) {
    db.close();
    throw e;
  }
  return db;
}
