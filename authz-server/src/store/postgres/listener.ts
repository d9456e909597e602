/**
 * Change notifications: one dedicated connection LISTENing on the channel every write NOTIFYs in its own
 * transaction. A notification is a hint to read the change log (store/changes.ts) now; what changed is
 * read from the log, never taken from the payload.
 *
 * Losing that connection means changes may go unseen, so the feed says so at once (`unavailable`;
 * decisions then fail closed) and reconnects every `retryMs`; once LISTENing again it asks for a full
 * rebuild (`all`). A connection that dies silently (no RST: partition, frozen peer) is caught by a
 * heartbeat: `SELECT 1` every `heartbeatMs` must answer within `heartbeatTimeoutMs`. Worst case, a
 * decision is stale for heartbeatMs + heartbeatTimeoutMs after a write it did not hear about.
 */
import pg from 'pg';
import type { StoreEvent } from '../store.js';

export const CHANNEL = 'tollgate_authz';

export interface ListenerOptions {
  heartbeatMs: number;
  heartbeatTimeoutMs: number;
  retryMs: number;
  onError?: (message: string) => void;
}

export const DEFAULT_LISTENER: ListenerOptions = { heartbeatMs: 500, heartbeatTimeoutMs: 1000, retryMs: 250 };


export class ChangeListener {
  inSync = false;
  private client: pg.Client | null = null;
  private heartbeat: NodeJS.Timeout | null = null;
  private retry: NodeJS.Timeout | null = null;
  private stopped = false;

  constructor(
    private readonly config: pg.ClientConfig,
    private readonly emit: (e: StoreEvent) => void,
    private readonly opts: ListenerOptions = DEFAULT_LISTENER,
  ) {}

  /** First connection: throws when it cannot LISTEN (start-up fails with that error). */
  async start(): Promise<void> {
    await this.connect();
  }

  private async connect(): Promise<void> {
    const client = new pg.Client(this.config);
    client.on('error', (e) => this.lost(client, e.message));
    client.on('end', () => this.lost(client, 'connection closed'));
    // A notification is only a hint to read the change log now (its payload is ignored): any role that
    // can connect may NOTIFY, so a flood costs coalesced reads of the log, never a cache rebuild or a 503.
    client.on('notification', () => {
      if (client === this.client) this.emit({ kind: 'hint' });
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${CHANNEL}`);
    } catch (e) {
      client.removeAllListeners('end');
      void client.end().catch(() => undefined);
      throw e;
    }
    if (this.stopped) return void client.end().catch(() => undefined);
    this.client = client;
    this.inSync = true;
    this.heartbeat = setInterval(() => this.beat(client), this.opts.heartbeatMs);
    this.heartbeat.unref();
  }

  private beat(client: pg.Client): void {
    let answered = false;
    const timer = setTimeout(() => {
      if (!answered) this.lost(client, `no heartbeat answer within ${this.opts.heartbeatTimeoutMs} ms`);
    }, this.opts.heartbeatTimeoutMs);
    timer.unref();
    client.query('SELECT 1').then(
      () => ((answered = true), clearTimeout(timer)),
      (e: Error) => ((answered = true), clearTimeout(timer), this.lost(client, e.message)),
    );
  }

  private lost(client: pg.Client, why: string): void {
    if (client !== this.client) return;
    this.client = null;
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = null;
    this.inSync = false;
    // Do not wait for a polite goodbye from a peer that may be gone: drop the socket.
    (client as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream?.destroy();
    client.removeAllListeners('notification');
    if (this.stopped) return;
    this.opts.onError?.(`change notifications lost (${why}); decisions refused until reconnected`);
    this.emit({ kind: 'unavailable', reason: `change notifications lost: ${why}` });
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.stopped || this.retry) return;
    this.retry = setTimeout(() => {
      this.retry = null;
      this.connect().then(
        () => this.emit({ kind: 'all' }),
        () => this.scheduleReconnect(),
      );
    }, this.opts.retryMs);
    this.retry.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.retry) clearTimeout(this.retry);
    if (this.heartbeat) clearInterval(this.heartbeat);
    const c = this.client;
    this.client = null;
    this.inSync = false;
    if (c) await c.end().catch(() => undefined);
  }
}
