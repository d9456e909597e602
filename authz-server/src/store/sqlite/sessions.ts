/** Console sessions on the authz SQLite file (table from migration 5). */
import type { SessionRow, SessionStore } from '../../console/session-store.js';
import type { Db } from './db.js';

export class SqliteSessionStore implements SessionStore {
  private readonly q;

  constructor(db: Db) {
    this.q = {
      insert: db.prepare('INSERT INTO console_sessions (id_hash, principal, csrf, created_at, last_seen_at) VALUES (?, ?, ?, ?, ?)'),
      get: db.prepare<[string], SessionRow>('SELECT principal, csrf, created_at, last_seen_at FROM console_sessions WHERE id_hash = ?'),
      touch: db.prepare('UPDATE console_sessions SET last_seen_at = ? WHERE id_hash = ?'),
      delete: db.prepare('DELETE FROM console_sessions WHERE id_hash = ?'),
      prune: db.prepare('DELETE FROM console_sessions WHERE created_at < ? OR last_seen_at < ?'),
    };
  }

  async create(idHash: string, r: SessionRow): Promise<void> {
    this.q.insert.run(idHash, r.principal, r.csrf, r.created_at, r.last_seen_at);
  }

  async get(idHash: string): Promise<SessionRow | undefined> {
    return this.q.get.get(idHash);
  }

  async touch(idHash: string, at: number): Promise<void> {
    this.q.touch.run(at, idHash);
  }

  async delete(idHash: string): Promise<void> {
    this.q.delete.run(idHash);
  }

  async prune(createdBefore: number, seenBefore: number): Promise<number> {
    return this.q.prune.run(createdBefore, seenBefore).changes;
  }
}
