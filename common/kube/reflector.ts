/**
 * List + watch of one resource across all namespaces (client-go's reflector, reduced to what tollgate
 * needs), shared by authn's Secret table and the controller's RegistryCredential cache. It fails closed
 * (issue 18):
 * - list in pages (`limit`/`continue`), hand the whole list to the sink in one step, watch from the list's
 *   resourceVersion with bookmarks; every event goes to the sink at once;
 * - what the sink holds is *confirmed* only by a completed list, an event or BOOKMARK that moves the
 *   resourceVersion on, or a watch the server ended at the `timeoutSeconds` we asked for (watch-once.ts).
 *   A 200 alone, silence, ERROR events and empty watches confirm nothing;
 * - `ready()` is false before the first list and once the last confirmation is older than `staleAfterMs`.
 *   `timeoutSeconds` is asked shorter than that bound (half of it), so a quiet healthy cluster confirms
 *   in time, and a watch held open past it (+ grace) is aborted;
 * - `410 Gone` → list again; failures (status, ERROR, empty, garbage, held open, dropped) → retry from the
 *   last resourceVersion with bounded, jittered exponential backoff, and list again after every
 *   `relistAfter` failures in a row.
 */
import type { Logger } from '../logger.js';
import { ApiError, statusMessage, type KubeClient } from './client.js';
import { Gone, watchOnce, WatchFailed, type WatchEnd } from './watch-once.js';
import { isObject } from '../is-object.js';

/** Where the reflector delivers what it reads. */
export interface ReflectorSink {
  /** A complete list: these items replace everything delivered before. */
  replace(items: unknown[], resourceVersion: string): void;
  /** One watch event (ADDED, MODIFIED or DELETED) of a well-formed object. */
  event(type: 'ADDED' | 'MODIFIED' | 'DELETED', obj: Record<string, unknown>): void;
}

/** Counters a caller may keep (authn's metrics); every one optional. */
export interface ReflectorHooks {
  /** Every watch event by type (ADDED, MODIFIED, DELETED, BOOKMARK, ERROR, other). */
  watchEvent?(type: string): void;
  /** A list made again because the resourceVersion was too old (410 Gone). */
  gone?(): void;
  /** A failed list or watch. */
  failure?(kind: 'list' | 'watch'): void;
  /** The confirmation went stale (true) or was renewed after being stale (false). */
  stale?(stale: boolean): void;
}

export interface ReflectorTimings {
  /** Bound of one list page request. Default 30 s. */
  listTimeoutMs?: number;
  /** How old the last confirmation may be before `ready()` is false. Default 30 s. */
  staleAfterMs?: number;
  /** `timeoutSeconds` asked of the server per watch. Default: half of `staleAfterMs` (1 … 300 s). */
  watchTimeoutSec?: number;
  /** How long a watch may outlive its `timeoutSeconds` before it is aborted as held open. Default 20 % of it (0.5 … 5 s). */
  watchGraceMs?: number;
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  /** List again after this many failed watches in a row. Default 3. */
  relistAfter?: number;
  pageSize?: number;
  now?: () => number;
}

export interface ReflectorOptions extends ReflectorTimings {
  kube: KubeClient;
  /** Collection path, e.g. `/api/v1/secrets`. */
  path: string;
  /** Extra query (e.g. `fieldSelector=…`), without `?`. */
  query?: string;
  /** Log line prefix, e.g. `k8s secrets`. */
  name: string;
  logger: Logger;
  sink: ReflectorSink;
  hooks?: ReflectorHooks;
}

export const REFLECTOR_DEFAULTS = { listTimeoutMs: 30_000, staleAfterMs: 30_000, backoffBaseMs: 250, backoffMaxMs: 10_000, relistAfter: 3, pageSize: 500 } as const;

/** `timeoutSeconds` for a stale-after bound: half of it, so two watch ends fit in it. */
export const watchTimeoutFor = (staleAfterMs: number): number => Math.max(1, Math.min(300, Math.floor(staleAfterMs / 2000)));

const rvOf = (o: unknown): string | undefined => (isObject(o) && isObject(o.metadata) && typeof o.metadata.resourceVersion === 'string' ? o.metadata.resourceVersion : undefined);
const WATCHED = ['ADDED', 'MODIFIED', 'DELETED', 'BOOKMARK'];

type Settled = Required<ReflectorTimings> & { watchTimeoutSec: number; watchGraceMs: number };

export class Reflector {
  /** Lists completed (the first one included). */
  lists = 0;
  private synced = false;
  /** When the sink was last confirmed (list, progress, a watch run to its timeout). */
  private confirmedAt = -Infinity;
  private staleReported = false;
  private readonly ctl = new AbortController();
  private readonly t: Settled;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  /** Where the next watch starts: the last list's, event's or bookmark's resourceVersion; undefined → list. */
  private rv: string | undefined;
  private markSynced!: () => void;
  /** Resolves after the first complete list. */
  readonly firstSync = new Promise<void>((resolve) => (this.markSynced = resolve));

  constructor(private readonly o: ReflectorOptions) {
    // A timing given as undefined means "the default" (`??`), not "no value".
    const staleAfterMs = o.staleAfterMs ?? REFLECTOR_DEFAULTS.staleAfterMs;
    const watchTimeoutSec = o.watchTimeoutSec ?? watchTimeoutFor(staleAfterMs);
    const watchGraceMs = Math.min(5000, Math.max(500, watchTimeoutSec * 200));
    const pick = <K extends keyof ReflectorTimings>(k: K, d: NonNullable<ReflectorTimings[K]>) => o[k] ?? d;
    this.t = {
      listTimeoutMs: pick('listTimeoutMs', REFLECTOR_DEFAULTS.listTimeoutMs),
      staleAfterMs,
      watchTimeoutSec,
      watchGraceMs: pick('watchGraceMs', watchGraceMs),
      backoffBaseMs: pick('backoffBaseMs', REFLECTOR_DEFAULTS.backoffBaseMs),
      backoffMaxMs: pick('backoffMaxMs', REFLECTOR_DEFAULTS.backoffMaxMs),
      relistAfter: pick('relistAfter', REFLECTOR_DEFAULTS.relistAfter),
      pageSize: pick('pageSize', REFLECTOR_DEFAULTS.pageSize),
      now: pick('now', Date.now),
    };
  }

  /** True when what the sink holds may be trusted: listed, and confirmed within `staleAfterMs`. */
  ready(): boolean {
    return this.synced && this.t.now() - this.confirmedAt <= this.t.staleAfterMs;
  }

  start(): void {
    this.loop ??= this.run();
  }

  /** Stops the loop and any open request; resolves when nothing of it is left running. */
  async close(): Promise<void> {
    this.ctl.abort('closed');
    this.wake?.();
    await this.loop;
  }

  private url(extra: string): string {
    return `${this.o.path}?${this.o.query ? `${this.o.query}&` : ''}${extra}`;
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (!this.ctl.signal.aborted) {
      try {
        this.rv ??= await this.list();
        if ((await this.watch(this.rv)) === 'ran-to-timeout') this.confirm();
        failures = 0;
      } catch (e) {
        if (this.ctl.signal.aborted) break;
        if (e instanceof Gone) {
          this.o.hooks?.gone?.();
          this.o.logger.info({ reason: e.message }, `${this.o.name}: resourceVersion too old, listing again`);
          this.rv = undefined;
          continue;
        }
        failures++;
        await this.backoff(e as Error, failures);
      }
    }
  }

  private async backoff(e: Error, failures: number): Promise<void> {
    this.o.hooks?.failure?.(this.rv === undefined ? 'list' : 'watch');
    const delay = Math.min(this.t.backoffMaxMs, this.t.backoffBaseMs * 2 ** Math.min(failures - 1, 16));
    const relist = failures % this.t.relistAfter === 0;
    const kind = e instanceof WatchFailed ? e.kind : undefined;
    if (kind === 'error-event') this.o.hooks?.watchEvent?.('ERROR');
    this.o.logger.warn({ err: e.message, kind, status: (e as ApiError).status, retryInMs: delay, failures, relist }, `${this.o.name}: list/watch failed, retrying`);
    if (!this.ready() && this.synced && !this.staleReported) {
      this.staleReported = true;
      this.o.hooks?.stale?.(true);
    }
    if (relist) this.rv = undefined;
    // Full jitter between half and all of the delay: replicas restarted together do not retry together.
    await this.sleep(delay / 2 + Math.random() * (delay / 2));
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
    const items: unknown[] = [];
    let cont = '';
    let rv = '';
    do {
      const r = await this.o.kube.get(this.url(`limit=${this.t.pageSize}${cont ? `&continue=${encodeURIComponent(cont)}` : ''}`), this.t.listTimeoutMs, this.ctl.signal);
      if (r.status === 410) throw new Gone('list continue token expired');
      if (r.status !== 200 || !isObject(r.json) || !Array.isArray(r.json.items) || !rvOf(r.json)) {
        throw new ApiError(`list ${this.o.path} answered ${r.status}${r.status === 200 ? ' with a body that is not a list' : statusMessage(r.json)}`, r.status);
      }
      items.push(...(r.json.items as unknown[]));
      rv = rvOf(r.json)!;
      const meta = r.json.metadata as Record<string, unknown>;
      cont = typeof meta.continue === 'string' ? meta.continue : '';
    } while (cont);
    if (this.ctl.signal.aborted) throw new ApiError('closed');
    this.o.sink.replace(items, rv);
    this.lists++;
    this.o.logger.info({ items: items.length, resourceVersion: rv }, `${this.o.name}: listed`);
    this.confirm();
    if (!this.synced) {
      this.synced = true;
      this.markSynced();
    }
    return rv;
  }

  private confirm(): void {
    this.confirmedAt = this.t.now();
    if (this.staleReported) this.o.hooks?.stale?.(false);
    this.staleReported = false;
  }

  /** One watch from `from`; every event and bookmark that moves the resourceVersion on confirms the sink. */
  private watch(from: string): Promise<WatchEnd> {
    const onEvent = (type: string, obj: Record<string, unknown>): boolean => {
      this.o.hooks?.watchEvent?.(WATCHED.includes(type) ? type : 'other'); // ERROR: counted where it fails the watch
      if (type === 'ADDED' || type === 'MODIFIED' || type === 'DELETED') this.o.sink.event(type, obj);
      else if (type !== 'BOOKMARK') return false;
      const rv = rvOf(obj);
      if (rv === undefined || rv === this.rv) return false;
      this.rv = rv;
      this.confirm();
      return true;
    };
    const path = this.url(`watch=1&resourceVersion=${encodeURIComponent(from)}&allowWatchBookmarks=true`);
    return watchOnce({ kube: this.o.kube, path, timeoutSec: this.t.watchTimeoutSec, graceMs: this.t.watchGraceMs, signal: this.ctl.signal, onEvent, now: this.t.now });
  }
}
