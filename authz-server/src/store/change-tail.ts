/**
 * Follows the change log (changes.ts) of the database this replica uses: reads what was committed after
 * the last revision it saw, every POLL_MS and at once on a hint (the engine committed a change row, or a
 * PostgreSQL NOTIFY came from another replica),
 * reads coalesced (one in flight, at most one more queued) so a flood of hints costs one read at a time.
 * Listeners get each batch in revision order: this replica's caches (decision-cache.ts) and the change
 * feed to authn (routes/changes.ts). `freshAt` is when the log was last read successfully: the feed
 * sends heartbeats only while that is recent, so a heartbeat always means "nothing you have not seen,
 * as of a moment ago".
 */
import type { ChangeLog, ChangeRow } from './changes.js';

export const POLL_MS = 100;
const BATCH = 1000;

export type TailListener = (rows: readonly ChangeRow[], head: number) => void;

export class ChangeTail {
  databaseId = '';
  head = 0;
  /** performance.now() of the last successful read; 0 before the first. */
  freshAt = 0;
  private readonly listeners: TailListener[] = [];
  private running: Promise<void> | null = null;
  private again = false;
  private failing = false;
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  private readonly enders = new Set<() => void>();

  constructor(
    private readonly log: ChangeLog,
    private readonly onError: (message: string) => void = () => undefined,
  ) {}

  /** Reads where the log stands and starts following it. */
  async start(): Promise<void> {
    const info = await this.log.feedInfo();
    this.databaseId = info.database_id;
    this.head = info.head;
    this.freshAt = performance.now();
    this.timer = setInterval(() => this.hint(), POLL_MS);
    this.timer.unref();
  }

  /** Stops following; subscribers that passed `onStop` (the feed's open streams) are ended. */
  stop(): void {
    // A hint arriving after this (a write's commit during shutdown) reads nothing: the engine is closing.
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    for (const end of [...this.enders]) end();
    this.enders.clear();
  }

  /** Called once when the tail stops (shutdown): open feed streams end instead of holding the server. */
  onStop(end: () => void): () => void {
    this.enders.add(end);
    return () => this.enders.delete(end);
  }

  subscribe(l: TailListener): () => void {
    this.listeners.push(l);
    return () => {
      const i = this.listeners.indexOf(l);
      if (i >= 0) this.listeners.splice(i, 1);
    };
  }

  /** Read the log now (coalesced); resolves when a read that started after this call has finished. */
  hint(): Promise<void> {
    if (this.stopped) return this.running ?? Promise.resolve();
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      try {
        do {
          this.again = false;
          await this.readAll();
        } while (this.again && !this.stopped);
      } finally {
        this.running = null;
      }
    })();
    return this.running;
  }

  private async readAll(): Promise<void> {
    try {
      for (;;) {
        const rows = await this.log.changesSince(this.head, BATCH);
        const last = rows[rows.length - 1];
        if (last) this.head = last.rev;
        this.freshAt = performance.now();
        for (const l of [...this.listeners]) {
          // One listener's fault (a feed stream, a cache) is not a failed read: the others still get the batch.
          try {
            l(rows, this.head);
          } catch (e) {
            this.onError(`a change-log listener failed: ${(e as Error).message}`);
          }
        }
        if (this.failing) this.onError('reading the change log works again');
        this.failing = false;
        if (rows.length < BATCH) return;
      }
    } catch (e) {
      // Once per outage, not every POLL_MS; the feed's heartbeats stop meanwhile.
      if (!this.failing) this.onError(`reading the change log failed: ${(e as Error).message}; change-feed heartbeats stop until it works`);
      this.failing = true;
    }
  }
}
