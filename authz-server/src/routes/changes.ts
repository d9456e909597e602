/**
 * GET /changes — the change feed (client token; server-sent events), what authn caches by.
 * Rules:
 * - `hello {database_id, rev, heartbeat_ms}` first: this database's id and its newest revision.
 * - `since=REV` replays every committed change after REV (`change {rev, kind, subject, detail}`, rev
 *   strictly increasing), then streams new ones as this replica reads them from the shared log
 *   (store/change-tail.ts); on PostgreSQL every replica serves the same revisions, so a client that
 *   reconnects to another replica with `since` misses nothing.
 * - `reset {database_id, rev, reason}` instead of a replay when `since` is older than the log keeps,
 *   ahead of it (a restored or another database), or `database=` names another database: the client
 *   drops everything it learnt and continues from `rev`.
 * - `beat {rev}` after every read of the log (every POLL_MS, ≤ 250 ms), only while reads succeed: a
 *   heartbeat means "nothing after rev, as of a moment ago". No heartbeat for 750 ms → authn stops
 *   trusting its caches.
 * A client that cannot keep up (1 MiB unsent) is disconnected; it reconnects with `since`.
 */
import { Router } from 'express';
import { AuthzError } from '../errors.js';
import type { ChangeRow } from '../store/changes.js';
import { POLL_MS } from '../store/change-tail.js';
import type { RouteContext } from './context.js';

export const CHANGES_PATH = '/changes';
const MAX_UNSENT = 1 << 20;
const REPLAY_BATCH = 1000;

function parseSince(v: unknown): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || !/^\d{1,15}$/.test(v)) throw new AuthzError(400, 'invalid_request', 'since must be a revision number (0 or more)', 'since');
  return Number(v);
}

function parseDatabase(v: unknown): string | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || !/^[0-9a-f]{1,64}$/.test(v)) throw new AuthzError(400, 'invalid_request', 'database must be the database_id of a hello or reset event', 'database');
  return v;
}

const event = (name: string, data: unknown): string => `event: ${name}\ndata: ${JSON.stringify(data)}\n\n`;
const changeEvent = (c: ChangeRow): string => event('change', { rev: c.rev, kind: c.kind, subject: c.subject, detail: c.detail });

export function changeRoutes(ctx: RouteContext): Router {
  const r = Router();
  const tail = ctx.store.tail;

  r.get(CHANGES_PATH, ctx.client, async (req, res) => {
    const since = parseSince(req.query.since);
    const database = parseDatabase(req.query.database);
    let cursor = -1;
    let queued: ChangeRow[] | null = [];
    const send = (text: string): void => {
      // Ended by a shutdown (onStop) or destroyed below while a read of the log was delivering: a write
      // now would be an unhandled 'error' event on the response, i.e. a crashed authz.
      if (res.writableEnded || res.destroyed) return;
      if (res.writableLength > MAX_UNSENT) return void res.destroy();
      res.write(text);
    };
    const deliver = (rows: readonly ChangeRow[]): void => {
      for (const c of rows) if (c.rev > cursor) (send(changeEvent(c)), (cursor = c.rev));
    };
    // Subscribed before the log is read: whatever commits from now on arrives here, nothing falls between.
    const unsubscribe = tail.subscribe((rows) => {
      if (queued) return void queued.push(...rows);
      deliver(rows);
      send(event('beat', { rev: cursor }));
    });
    const stopEnd = tail.onStop(() => (unsubscribe(), res.end()));
    res.on('close', () => (unsubscribe(), stopEnd()));
    try {
      const info = await ctx.store.engine.feedInfo();
      res.writeHead(200, { 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-store', 'X-Accel-Buffering': 'no' });
      res.socket?.setNoDelay(true);
      send(event('hello', { database_id: info.database_id, rev: info.head, heartbeat_ms: POLL_MS }));
      const reason =
        database !== undefined && database !== info.database_id ? 'another database'
        : since !== undefined && since < info.trimmed_through ? `since ${since} is older than the oldest revision kept (${info.trimmed_through + 1})`
        : since !== undefined && since > info.head ? `since ${since} is ahead of this database (rev ${info.head}): restored or another database`
        : null;
      if (since === undefined || reason) {
        cursor = info.head;
        if (reason) send(event('reset', { database_id: info.database_id, rev: info.head, reason }));
      } else {
        cursor = since;
        for (;;) {
          const rows = await ctx.store.engine.changesSince(cursor, REPLAY_BATCH);
          deliver(rows);
          if (rows.length < REPLAY_BATCH) break;
        }
      }
      const pending = queued;
      queued = null;
      deliver(pending);
      send(event('beat', { rev: cursor }));
    } catch (e) {
      unsubscribe();
      stopEnd();
      if (!res.headersSent) throw e;
      res.destroy();
    }
  });
  return r;
}
