/**
 * Console sessions on the shared PostgreSQL database (table from migration 5): a session made on one
 * replica is valid on every other, and a sign-out on one ends it everywhere. Database failures become
 * 503 through the engine's `run`, so an unreadable session is never taken as signed in.
 */
import type { SessionRow, SessionStore } from '../../console/session-store.js';
import type { PgRunner } from './robots.js';

interface PgRow {
  principal: string;
  csrf: string;
  created_at: string;
  last_seen_at: string;
}

export class PostgresSessionStore implements SessionStore {
  constructor(private readonly db: PgRunner) {}

  async create(idHash: string, r: SessionRow): Promise<void> {
    await this.db.run('create console session', (q) =>
      q.query('INSERT INTO console_sessions (id_hash, principal, csrf, created_at, last_seen_at) VALUES ($1, $2, $3, $4, $5)', [idHash, r.principal, r.csrf, r.created_at, r.last_seen_at]),
    );
  }

  async get(idHash: string): Promise<SessionRow | undefined> {
    const res = await this.db.run('read console session', (q) =>
      q.query<PgRow>('SELECT principal, csrf, created_at, last_seen_at FROM console_sessions WHERE id_hash = $1', [idHash]),
    );
    const row = res.rows[0];
    // BIGINT arrives as a string from pg.
    return row ? { principal: row.principal, csrf: row.csrf, created_at: Number(row.created_at), last_seen_at: Number(row.last_seen_at) } : undefined;
  }

  async touch(idHash: string, at: number): Promise<void> {
    await this.db.run('touch console session', (q) => q.query('UPDATE console_sessions SET last_seen_at = $1 WHERE id_hash = $2', [at, idHash]));
  }

  async delete(idHash: string): Promise<void> {
    await this.db.run('delete console session', (q) => q.query('DELETE FROM console_sessions WHERE id_hash = $1', [idHash]));
  }

  async prune(createdBefore: number, seenBefore: number): Promise<number> {
    const res = await this.db.run('prune console sessions', (q) => q.query('DELETE FROM console_sessions WHERE created_at < $1 OR last_seen_at < $2', [createdBefore, seenBefore]));
    return res.rowCount ?? 0;
  }
}
