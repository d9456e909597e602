/**
 * authn's side of authz's change feed (authz `GET /changes`, server-sent events): what makes caching
 * safe by default. Rules:
 * - Caches are trusted only while the feed is live: a `hello` received and some message (change or
 *   heartbeat) within TRUST_MS (750 ms). Otherwise every request asks authz; worst-case staleness is
 *   TRUST_MS plus one heartbeat interval, about 1 s, whatever fails (authz killed, network blocked).
 * - Anything that may mean a missed change drops every cache (`epoch` bumps, listeners get `null`):
 *   the connection ending, trust running out, a `reset`, another database id, a revision going
 *   backwards or skipping ahead of what was received, a malformed or unknown message. Each reason is
 *   logged once (then at most every 10 minutes) and counted; the feed reconnects with `since`.
 * - An authz without the feed (404: older version, feed disabled) → caching off, logged once; asked
 *   again every NO_FEED_RETRY_MS, so an upgraded authz turns caching on without a restart.
 */
import http from 'node:http';
import https from 'node:https';
import type { Logger } from '../../../common/logger.js';

const TRUST_MS = 750;
/** A connection silent this long is taken for hung (no RST: blocked network) and replaced. */
const SILENT_MS = 2000;
const RETRY_MS = 250;
const MAX_RETRY_MS = 5000;
const NO_FEED_RETRY_MS = 30_000;
const MAX_LINE = 64 * 1024;
const LOG_EVERY_MS = 10 * 60_000;
const KINDS = new Set(['role', 'binding', 'robot', 'import', 'token']);

export interface FeedChange {
  rev: number;
  kind: 'role' | 'binding' | 'robot' | 'import' | 'token';
  subject: string | null;
  detail: string | null;
}

export type FeedState = 'connecting' | 'live' | 'unsupported' | 'down' | 'stopped';

export interface FeedOptions {
  url: string;
  token?: string | undefined;
  logger: Logger;
  now?: () => number;
  /** Each drop of the caches, by a low-cardinality code (metrics). */
  onReset?: (code: ResetCode) => void;
  onState?: (state: FeedState) => void;
}

export type ResetCode = 'reset' | 'database' | 'malformed' | 'order' | 'unsupported' | 'connection';

/** A reason as a metric label. */
function resetCode(reason: string): ResetCode {
  if (reason.startsWith('authz reset')) return 'reset';
  if (reason.includes('another database')) return 'database';
  if (/malformed|unknown change feed event|before hello/.test(reason)) return 'malformed';
  if (/backwards|out of order|heartbeat at rev/.test(reason)) return 'order';
  if (reason.includes('no change feed')) return 'unsupported';
  return 'connection';
}

const isRev = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

export class ChangeFeed {
  state: FeedState = 'connecting';
  /** Bumped whenever caches must be dropped; a cache entry from an older epoch is never used. */
  epoch = 0;
  /** Newest revision received. An answer fetched while `epoch` or `rev` moved is not cached (it may predate the change). */
  rev = -1;
  databaseId: string | undefined;
  lastMessageAt = -Infinity;
  private hello = false;
  private wasTrusted = false;
  private req: http.ClientRequest | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private watchdog: NodeJS.Timeout | null = null;
  private backoff = RETRY_MS;
  private readonly listeners: Array<(c: FeedChange | null) => void> = [];
  private readonly logged = new Map<string, number>();
  private readonly now: () => number;

  constructor(private readonly opts: FeedOptions) {
    this.now = opts.now ?? (() => performance.now());
  }

  /** Listener gets each change, or null for "drop everything". */
  subscribe(l: (c: FeedChange | null) => void): void {
    this.listeners.push(l);
  }

  /** True when caches may answer now; losing trust drops them. */
  trusted(): boolean {
    const ok = this.state === 'live' && this.hello && this.now() - this.lastMessageAt <= TRUST_MS;
    if (!ok && this.wasTrusted) this.drop(null);
    this.wasTrusted = ok;
    return ok;
  }

  /** Milliseconds since the last message (lag), or Infinity. */
  silenceMs(): number {
    return this.now() - this.lastMessageAt;
  }

  start(): void {
    this.watchdog = setInterval(() => {
      this.trusted();
      if (this.state === 'live' && this.silenceMs() > SILENT_MS) this.fail('no message for 2 s (hung connection)');
    }, RETRY_MS);
    this.watchdog.unref();
    this.connect();
  }

  stop(): void {
    this.setState('stopped');
    if (this.watchdog) clearInterval(this.watchdog);
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.req?.destroy();
    this.req = null;
  }

  private setState(s: FeedState): void {
    if (this.state === s) return;
    this.state = s;
    this.opts.onState?.(s);
  }

  /** Drops every cache; with a reason, logs it (once per reason and 10 minutes) and counts it. */
  private drop(reason: string | null): void {
    this.epoch++;
    this.wasTrusted = false;
    for (const l of this.listeners) l(null);
    if (reason === null) return;
    this.opts.onReset?.(resetCode(reason));
    const last = this.logged.get(reason) ?? -Infinity;
    if (this.now() - last < LOG_EVERY_MS) return;
    this.logged.set(reason, this.now());
    this.opts.logger.warn({ reason }, 'change feed: caches dropped, asking authz directly until the feed is trusted again');
  }

  /** The connection cannot be trusted any more: drop, reconnect with `since`. */
  private fail(reason: string, retryMs = this.backoff): void {
    if (this.state === 'stopped') return;
    const r = this.req;
    this.req = null;
    r?.destroy();
    this.hello = false;
    this.drop(reason);
    if (this.state !== 'unsupported') this.setState('down');
    if (this.retryTimer) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.connect();
    }, retryMs);
    this.retryTimer.unref();
    this.backoff = Math.min(this.backoff * 2, MAX_RETRY_MS);
  }

  private connect(): void {
    if (this.state === 'stopped') return;
    const base = new URL(this.opts.url);
    const q = this.rev >= 0 && this.databaseId ? `?since=${this.rev}&database=${this.databaseId}` : '';
    const send = base.protocol === 'https:' ? https.request : http.request;
    const req = send(`${base.origin}${base.pathname.replace(/\/+$/, '')}/changes${q}`, {
      agent: false,
      headers: { Accept: 'text/event-stream', 'User-Agent': 'tollgate-authn', ...(this.opts.token ? { Authorization: `Bearer ${this.opts.token}` } : {}) },
    });
    this.req = req;
    const timer = setTimeout(() => req === this.req && this.fail('authz did not answer /changes within 2 s'), SILENT_MS);
    req.on('response', (res) => {
      clearTimeout(timer);
      if (req !== this.req) return void res.destroy();
      if (res.statusCode === 404) {
        res.resume();
        this.setState('unsupported');
        return this.fail('authz has no change feed (older version or feed disabled): decision and robot caching off', NO_FEED_RETRY_MS);
      }
      if (res.statusCode !== 200) {
        res.resume();
        return this.fail(`authz answered ${res.statusCode} on /changes${res.statusCode === 401 ? ' (check --authz-token-file)' : ''}`);
      }
      this.read(req, res);
    });
    req.on('error', (e) => {
      clearTimeout(timer);
      if (req === this.req) this.fail(`change feed connection failed: ${e.message}`);
    });
    req.end();
  }

  private read(req: http.ClientRequest, res: http.IncomingMessage): void {
    res.setEncoding('utf8');
    let buf = '';
    let name = 'message';
    let data = '';
    res.on('data', (chunk: string) => {
      if (req !== this.req) return;
      buf += chunk;
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl).replace(/\r$/, '');
        buf = buf.slice(nl + 1);
        if (line === '') {
          if (data !== '' && !this.message(name, data)) return;
          name = 'message';
          data = '';
        } else if (line.startsWith('event:')) name = line.slice(6).trim();
        else if (line.startsWith('data:')) {
          data += line.slice(5).trim();
          if (data.length > MAX_LINE) return void this.fail('malformed change feed message (event too long)');
        }
        else if (!line.startsWith(':')) return void this.fail('malformed change feed message (not server-sent events)');
      }
      if (buf.length > MAX_LINE) this.fail('malformed change feed message (line too long)');
    });
    res.on('end', () => req === this.req && this.fail('change feed connection ended'));
    res.on('error', () => req === this.req && this.fail('change feed connection failed'));
  }

  /** One event; false when it made the feed fail (stop reading). */
  private message(name: string, text: string): boolean {
    let d: Record<string, unknown>;
    try {
      d = JSON.parse(text) as Record<string, unknown>;
      if (d === null || typeof d !== 'object') throw new Error('not an object');
    } catch {
      this.fail(`malformed change feed message (${name} is not a JSON object)`);
      return false;
    }
    const problem = this.apply(name, d);
    if (problem) {
      this.fail(problem);
      return false;
    }
    this.lastMessageAt = this.now();
    this.backoff = RETRY_MS;
    return true;
  }

  /** Applies one parsed event; returns why the feed cannot be trusted, or undefined. */
  private apply(name: string, d: Record<string, unknown>): string | undefined {
    switch (name) {
      case 'hello': {
        if (typeof d.database_id !== 'string' || !isRev(d.rev)) return 'malformed change feed message (hello)';
        // A head below our revision is judged by what follows: a reset, or a heartbeat that disagrees.
        if (this.databaseId !== undefined && d.database_id !== this.databaseId) this.drop('authz answers from another database');
        if (this.rev < 0 || d.database_id !== this.databaseId) this.rev = d.rev;
        this.databaseId = d.database_id;
        this.hello = true;
        this.setState('live');
        return undefined;
      }
      case 'change': {
        if (!this.hello) return 'change feed message before hello';
        if (!isRev(d.rev) || typeof d.kind !== 'string' || !KINDS.has(d.kind)) return 'malformed change feed message (change)';
        if (d.rev <= this.rev) return `change out of order (rev ${d.rev} after ${this.rev})`;
        const subject = typeof d.subject === 'string' ? d.subject : null;
        const detail = typeof d.detail === 'string' ? d.detail : null;
        this.rev = d.rev;
        const c: FeedChange = { rev: d.rev, kind: d.kind as FeedChange['kind'], subject, detail };
        for (const l of this.listeners) l(c);
        return undefined;
      }
      case 'beat':
        if (!this.hello) return 'change feed message before hello';
        if (!isRev(d.rev)) return 'malformed change feed message (beat)';
        if (d.rev !== this.rev) return `heartbeat at rev ${d.rev} while at ${this.rev} (a change was missed or the revision went backwards)`;
        return undefined;
      case 'reset':
        if (typeof d.database_id !== 'string' || !isRev(d.rev)) return 'malformed change feed message (reset)';
        this.drop(`authz reset the feed: ${typeof d.reason === 'string' ? d.reason.slice(0, 200) : 'no reason given'}`);
        this.rev = d.rev;
        this.databaseId = d.database_id;
        return undefined;
      default:
        return `unknown change feed event "${name.slice(0, 40)}"`;
    }
  }
}
