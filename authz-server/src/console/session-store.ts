/**
 * The console-session seam: sessions live in the authz store (migration 5), so any replica serves them;
 * each engine implements it in its own folder (store/sqlite/sessions.ts, store/postgres/sessions.ts) and
 * offers it as `Store.sessions`. A row is keyed by the SHA-256 of the session id: the id itself (the
 * cookie) is never stored, so a copy of the database cannot be replayed as a session. Times are epoch
 * milliseconds; expiry is decided by the caller (sessions.ts).
 */
import { createHash } from 'node:crypto';

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
