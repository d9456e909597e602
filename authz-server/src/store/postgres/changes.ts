/**
 * Appending to the change log on PostgreSQL (store/changes.ts), shared by every replica. `append` runs
 * inside the write's own transaction, last: it takes a self-conflicting lock on `changes` so revisions
 * (one identity sequence for all replicas) commit in order and a reader never sees rev N+1 before N;
 * then it NOTIFYs the channel as a hint for the other replicas to read the log now. One line is all a
 * new kind of write needs: `await appendChange(c, 'token', id)`. The engine's `tx` asks
 * {@link takeAppended} after its COMMIT and hints this replica's change tail at once (not at the NOTIFY's
 * echo or the next poll).
 */
import type pg from 'pg';
import { CHANGES_KEPT, TRIM_EVERY, type ChangeKind, type ChangeRow, type FeedInfo } from '../changes.js';
import { CHANNEL } from './listener.js';

type Q = pg.PoolClient | pg.Pool;

/** Connections whose open transaction appended a change row. */
const appended = new WeakSet<pg.PoolClient>();

/** Whether this connection's transaction appended to the log (and forget it: the connection is reused). */
export function takeAppended(c: pg.PoolClient): boolean {
  return appended.delete(c);
}

export async function appendChange(c: pg.PoolClient, kind: ChangeKind, subject: string | null = null, detail: string | null = null): Promise<void> {
  await c.query('LOCK TABLE changes IN SHARE ROW EXCLUSIVE MODE');
  const { rows } = await c.query<{ rev: number }>('INSERT INTO changes (kind, subject, detail, at) VALUES ($1, $2, $3, $4) RETURNING rev', [kind, subject, detail, new Date().toISOString()]);
  const rev = rows[0]?.rev ?? 0;
  if (rev % TRIM_EVERY === 0 && rev > CHANGES_KEPT) {
    await c.query('DELETE FROM changes WHERE rev <= $1', [rev - CHANGES_KEPT]);
    await c.query('UPDATE feed_meta SET trimmed_through = greatest(trimmed_through, $1) WHERE id = 1', [rev - CHANGES_KEPT]);
  }
  // The payload means nothing: a replica reads the log itself (a forged NOTIFY costs one read).
  await c.query('SELECT pg_notify($1, $2)', [CHANNEL, '']);
  appended.add(c);
}

export async function feedInfo(q: Q): Promise<FeedInfo> {
  // Recreated when missing (an emptied database): a new id tells feed clients to drop what they hold.
  await q.query("INSERT INTO feed_meta (id, database_id) VALUES (1, md5(random()::text || clock_timestamp()::text)) ON CONFLICT (id) DO NOTHING");
  const { rows } = await q.query<{ database_id: string; trimmed_through: number; head: number | null }>(
    "SELECT database_id, trimmed_through, (SELECT coalesce(max(rev), 0) FROM changes) AS head FROM feed_meta WHERE id = 1",
  );
  const r = rows[0];
  if (!r) throw new Error('feed_meta row missing');
  return { database_id: r.database_id, trimmed_through: Number(r.trimmed_through), head: Math.max(Number(r.head ?? 0), Number(r.trimmed_through)) };
}

export async function changesSince(q: Q, rev: number, limit: number): Promise<ChangeRow[]> {
  const { rows } = await q.query<ChangeRow>({ name: 'changes-since', text: 'SELECT rev, kind, subject, detail FROM changes WHERE rev > $1 ORDER BY rev LIMIT $2', values: [rev, limit] });
  return rows.map((r) => ({ ...r, rev: Number(r.rev) }));
}
