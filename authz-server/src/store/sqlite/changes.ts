/**
 * Appending to the change log on SQLite (store/changes.ts). Call `append` inside the write's own
 * transaction (better-sqlite3 `db.transaction`), so the revision exists exactly when the write committed.
 * One line is all a new kind of write needs: `this.changes.append('token', id)`. Appending also schedules
 * `committed` for when the synchronous transaction has returned (a microtask), once per batch: the one
 * place that tells this replica's change tail to read the log now, whatever made the write.
 */
import { CHANGES_KEPT, TRIM_EVERY, type ChangeKind, type ChangeLog, type ChangeRow, type FeedInfo } from '../changes.js';
import type { Db } from './db.js';

export class SqliteChanges implements ChangeLog {
  private readonly q;
  private hintQueued = false;

  constructor(
    db: Db,
    private readonly committed: () => void = () => undefined,
  ) {
    this.q = {
      insert: db.prepare<[string, string | null, string | null, string]>('INSERT INTO changes (kind, subject, detail, at) VALUES (?, ?, ?, ?)'),
      since: db.prepare<[number, number], ChangeRow>('SELECT rev, kind, subject, detail FROM changes WHERE rev > ? ORDER BY rev LIMIT ?'),
      head: db.prepare<[], { rev: number | null }>("SELECT seq AS rev FROM sqlite_sequence WHERE name = 'changes'"),
      ensureMeta: db.prepare("INSERT INTO feed_meta (id, database_id) VALUES (1, lower(hex(randomblob(16)))) ON CONFLICT (id) DO NOTHING"),
      meta: db.prepare<[], { database_id: string; trimmed_through: number }>('SELECT database_id, trimmed_through FROM feed_meta WHERE id = 1'),
      trim: db.prepare<[number]>('DELETE FROM changes WHERE rev <= ?'),
      trimmed: db.prepare<[number]>('UPDATE feed_meta SET trimmed_through = max(trimmed_through, ?) WHERE id = 1'),
    };
  }

  /** Records one change; must run inside the write's transaction. */
  append(kind: ChangeKind, subject: string | null = null, detail: string | null = null): void {
    const rev = Number(this.q.insert.run(kind, subject, detail, new Date().toISOString()).lastInsertRowid);
    if (rev % TRIM_EVERY === 0 && rev > CHANGES_KEPT) {
      this.q.trim.run(rev - CHANGES_KEPT);
      this.q.trimmed.run(rev - CHANGES_KEPT);
    }
    if (this.hintQueued) return;
    this.hintQueued = true;
    // better-sqlite3 transactions are synchronous: a microtask runs after the COMMIT (or a rollback,
    // after which the read finds nothing new).
    queueMicrotask(() => {
      this.hintQueued = false;
      this.committed();
    });
  }

  headSync(): number {
    return this.q.head.get()?.rev ?? 0;
  }

  async feedInfo(): Promise<FeedInfo> {
    let meta = this.q.meta.get();
    if (!meta) {
      // Recreated when missing (an emptied database): a new id tells feed clients to drop what they hold.
      this.q.ensureMeta.run();
      meta = this.q.meta.get();
    }
    if (!meta) throw new Error('feed_meta row missing');
    return { database_id: meta.database_id, head: this.headSync(), trimmed_through: meta.trimmed_through };
  }

  async changesSince(rev: number, limit: number): Promise<ChangeRow[]> {
    return this.q.since.all(rev, limit);
  }
}
