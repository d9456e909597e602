/**
 * One list + watch of the named Secret across all namespaces, kept in an in-memory table (client-go's
 * reflector, reduced to what we need):
 * - list in pages (`limit`/`continue`), swap the table in one step, watch from the list's resourceVersion
 *   with bookmarks; every event updates the table at once (a rotated Secret counts from its event on);
 * - `410 Gone` (status or ERROR event) → list again; other ERROR events, dropped connections, garbage
 *   lines and silent connections → reconnect from the last resourceVersion with jittered backoff;
 * - `ready()` is false before the first list and once the watch has been broken longer than
 *   `staleAfterMs`: the backend then fails closed (503) instead of answering from an old table.
 */
import type { Logger } from '../../../../common/logger.js';
import { ApiError, getJson, watchLines, type ApiConnection } from './api-client.js';
import type { K8sMetrics } from './metrics.js';
import { parseSecret, type SecretCredential } from './parse-secret.js';

export interface InformerOptions {
  conn: ApiConnection;
  secretName: string;
  registryHost?: string | undefined;
  logger: Logger;
  metrics: K8sMetrics;
  /** Bound of one list page request. Default 30 s. */
  listTimeoutMs?: number;
  /** `timeoutSeconds` asked of the server per watch. Default 300. */
  watchTimeoutSec?: number;
  /** Longest silence on an open watch before it counts as broken. Default 90 s (bookmarks come about every minute). */
  idleMs?: number;
  /** How long a broken watch may stay broken before logins fail closed. Default 30 s. */
  staleAfterMs?: number;
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  pageSize?: number;
  now?: () => number;
}

export const INFORMER_DEFAULTS = { listTimeoutMs: 30_000, watchTimeoutSec: 300, idleMs: 90_000, staleAfterMs: 30_000, backoffBaseMs: 250, backoffMaxMs: 10_000, pageSize: 500 } as const;

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
const rvOf = (o: unknown): string | undefined => (isObject(o) && isObject(o.metadata) && typeof o.metadata.resourceVersion === 'string' ? o.metadata.resourceVersion : undefined);

/** Thrown inside a watch to ask for a fresh list (410 Gone). */
class Gone extends Error {}

export class SecretInformer {
  readonly table = new Map<string, SecretCredential>();
  private synced = false;
  private brokenSince: number | undefined;
  private readonly ctl = new AbortController();
  private readonly o: Required<Omit<InformerOptions, 'registryHost'>> & { registryHost?: string | undefined };
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private firstSync: Promise<void>;
  private markSynced!: () => void;

  constructor(opts: InformerOptions) {
    this.o = { ...INFORMER_DEFAULTS, now: Date.now, ...opts };
    this.firstSync = new Promise((resolve) => (this.markSynced = resolve));
  }

  /** True when the table may answer logins. */
  ready(): boolean {
    return this.synced && (this.brokenSince === undefined || this.o.now() - this.brokenSince <= this.o.staleAfterMs);
  }

  /** Resolves after the first complete list (tests, benchmarks). */
  synced$(): Promise<void> {
    return this.firstSync;
  }

  start(): void {
    this.loop ??= this.run();
  }

  async close(): Promise<void> {
    this.ctl.abort('closed');
    this.wake?.();
    await this.loop;
  }

  private get path(): string {
    return `/api/v1/secrets?fieldSelector=${encodeURIComponent(`metadata.name=${this.o.secretName}`)}`;
  }

  /** Where the next watch starts: the last list's, event's or bookmark's resourceVersion; undefined → list. */
  private rv: string | undefined;

  private async run(): Promise<void> {
    let failures = 0;
    while (!this.ctl.signal.aborted) {
      try {
        this.rv ??= await this.list();
        await this.watch(this.rv);
        failures = 0;
      } catch (e) {
        if (this.ctl.signal.aborted) break;
        if (e instanceof Gone) {
          this.o.metrics.relists.inc();
          this.o.logger.info({ reason: e.message }, 'k8s secrets: resourceVersion too old, listing again');
          this.rv = undefined;
          continue;
        }
        failures++;
        this.brokenSince ??= this.o.now();
        const delay = Math.min(this.o.backoffMaxMs, this.o.backoffBaseMs * 2 ** Math.min(failures - 1, 16));
        this.o.logger.warn({ err: (e as Error).message, status: (e as ApiError).status, retryInMs: delay, failures }, 'k8s secrets: list/watch failed, retrying');
        // Full jitter between half and all of the delay: replicas restarted together do not retry together.
        await this.sleep(delay / 2 + Math.random() * (delay / 2));
      }
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(resolve, ms);
      this.wake = () => {
        clearTimeout(t);
        resolve();
      };
    });
  }

  private async list(): Promise<string> {
    const next = new Map<string, SecretCredential>();
    let cont = '';
    let rv = '';
    do {
      const q = `${this.path}&limit=${this.o.pageSize}${cont ? `&continue=${encodeURIComponent(cont)}` : ''}`;
      let r;
      try {
        r = await getJson(this.o.conn, q, this.o.listTimeoutMs);
      } catch (e) {
        this.o.metrics.errors.inc({ kind: 'list' });
        throw e;
      }
      if (r.status === 410) throw new Gone('list continue token expired');
      if (r.status !== 200 || !isObject(r.json) || !Array.isArray(r.json.items) || !rvOf(r.json)) {
        this.o.metrics.errors.inc({ kind: 'list' });
        throw new ApiError(`list answered ${r.status}${r.status === 200 ? ' with a body that is not a list' : statusMessage(r.json)}`, r.status);
      }
      for (const item of r.json.items) this.apply(next, item);
      rv = rvOf(r.json)!;
      const meta = r.json.metadata as Record<string, unknown>;
      cont = typeof meta.continue === 'string' ? meta.continue : '';
    } while (cont);
    this.table.clear();
    for (const [k, v] of next) this.table.set(k, v);
    this.o.metrics.secrets.set(this.table.size);
    this.o.logger.info({ secrets: this.table.size, resourceVersion: rv }, 'k8s secrets: listed');
    this.healthy();
    if (!this.synced) {
      this.synced = true;
      this.markSynced();
    }
    return rv;
  }

  private healthy(): void {
    this.brokenSince = undefined;
  }

  /** Adds or removes one Secret in `into`; an unusable Secret removes its namespace's credential. */
  private apply(into: Map<string, SecretCredential>, obj: unknown): void {
    const meta = isObject(obj) && isObject(obj.metadata) ? obj.metadata : undefined;
    if (meta?.name !== this.o.secretName) return;
    const r = parseSecret(obj, this.o.registryHost);
    if (r.ok) {
      into.set(r.credential.namespace, r.credential);
      return;
    }
    if (r.namespace) into.delete(r.namespace);
    this.o.metrics.errors.inc({ kind: 'invalid_secret' });
    this.o.logger.warn({ namespace: r.namespace, secret: this.o.secretName, reason: r.reason }, 'k8s secrets: Secret ignored');
  }

  /** One watch from `from`; every event and bookmark moves `this.rv` on. */
  private async watch(from: string): Promise<void> {
    const ctl = new AbortController();
    const onClose = () => ctl.abort('closed');
    this.ctl.signal.addEventListener('abort', onClose, { once: true });
    let failure: Error | undefined;
    const fail = (e: Error) => {
      failure ??= e;
      ctl.abort(e.message);
    };
    const onLine = (line: string) => {
      if (failure) return;
      let ev: unknown;
      try {
        ev = JSON.parse(line);
      } catch {
        this.o.metrics.errors.inc({ kind: 'watch' });
        return fail(new ApiError('watch sent a line that is not JSON'));
      }
      const type = isObject(ev) ? ev.type : undefined;
      const obj = isObject(ev) ? ev.object : undefined;
      if (typeof type !== 'string' || !isObject(obj)) {
        this.o.metrics.errors.inc({ kind: 'watch' });
        return fail(new ApiError('watch sent an event without type or object'));
      }
      this.o.metrics.events.inc({ type: ['ADDED', 'MODIFIED', 'DELETED', 'BOOKMARK', 'ERROR'].includes(type) ? type : 'other' });
      if (type === 'ERROR') {
        if (obj.code === 410) return fail(new Gone(String(obj.message ?? '410 Gone')));
        this.o.metrics.errors.inc({ kind: 'watch' });
        return fail(new ApiError(`watch ERROR event${statusMessage(obj)}`, typeof obj.code === 'number' ? obj.code : undefined));
      }
      if (type === 'ADDED' || type === 'MODIFIED') this.apply(this.table, obj);
      else if (type === 'DELETED') {
        const ns = isObject(obj.metadata) && obj.metadata.name === this.o.secretName ? obj.metadata.namespace : undefined;
        if (typeof ns === 'string') this.table.delete(ns);
      } else if (type !== 'BOOKMARK') return;
      this.rv = rvOf(obj) ?? this.rv;
      this.o.metrics.secrets.set(this.table.size);
    };
    const path = `${this.path}&watch=1&resourceVersion=${encodeURIComponent(from)}&allowWatchBookmarks=true&timeoutSeconds=${this.o.watchTimeoutSec}`;
    try {
      const stream = await watchLines(this.o.conn, path, { connectTimeoutMs: this.o.listTimeoutMs, idleMs: this.o.idleMs, signal: ctl.signal, onLine }).catch((e: unknown) => {
        this.o.metrics.errors.inc({ kind: 'watch' });
        throw e;
      });
      if (stream.status === 410) throw new Gone('watch answered 410 Gone');
      if (stream.status !== 200) {
        this.o.metrics.errors.inc({ kind: 'watch' });
        throw new ApiError(`watch answered ${stream.status}${statusMessage(stream.json)}`, stream.status);
      }
      this.healthy();
      await stream.done.catch((e: unknown) => {
        if (!failure) this.o.metrics.errors.inc({ kind: 'watch' });
        throw failure ?? e;
      });
      if (failure) throw failure;
    } finally {
      this.ctl.signal.removeEventListener('abort', onClose);
    }
  }
}

function statusMessage(json: unknown): string {
  return isObject(json) && typeof json.message === 'string' ? `: ${json.message.slice(0, 200)}` : '';
}
