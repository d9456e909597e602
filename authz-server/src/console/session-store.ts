/**
 * Console sessions in the authz store (migration 5), so any replica serves them. A row is keyed by
 * the SHA-256 of the session id: the id itself (the cookie) is never stored, so a copy of the database
 * cannot be replayed as a session. Times are epoch milliseconds; expiry is decided by the caller.
 */
import { createHash } from 'node:crypto';
import type { Store } from '../store/store.js';
import { SqliteStore } from '../store/sqlite/index.js';
import { PostgresStore } from '../store/postgres/index.js';
import { SqliteSessionStore } from './sqlite-sessions.js';
import { PostgresSessionStore } from './postgres-sessions.js';

export interface SessionRow {
  /** JSON of the Principal the token resolved to at sign-in. */
  principal: string;
  csrf: string;
  created_at: number;
  last_seen_at: number;
}

export interface SessionStore {
  create(idHash: string, row: SessionRow): Promise<void>;
  get(idHash: string): Promise<SessionRow | undefined>;
  touch(idHash: string, at: number): Promise<void>;
  delete(idHash: string): Promise<void>;
  /** Removes sessions created before `createdBefore` or idle since before `seenBefore`. */
  prune(createdBefore: number, seenBefore: number): Promise<number>;
}

export const hashSessionId = (id: string): string => createHash('sha256').update(id).digest('hex');

/** The engine's own session table, in the same database as the roles. */
export function sessionStoreFor(engine: Store): SessionStore {
  if (engine instanceof SqliteStore) return new SqliteSessionStore(engine.db);
  if (engine instanceof PostgresStore) return new PostgresSessionStore(engine);
  throw new Error(`no console session table for the ${engine.engine} engine`);
}
