/**
 * One list + watch of the named Secret across all namespaces, kept in an in-memory table (client-go's
 * reflector, reduced to what we need), that fails closed (issue 18):
 * - list in pages (`limit`/`continue`), swap the table in one step, watch from the list's resourceVersion
 *   with bookmarks; every event updates the table at once (a rotated Secret counts from its event on);
 * - the table is *confirmed* only by a completed list, an event or BOOKMARK that moves the resourceVersion
 *   on, or a watch the server ended at the `timeoutSeconds` we asked for (watch-once.ts). A 200 alone,
 *   silence, ERROR events and empty watches confirm nothing;
 * - `ready()` is false before the first list and once the last confirmation is older than `staleAfterMs`:
 *   the backend then fails closed (503) instead of answering from an old table. `timeoutSeconds` is asked
 *   shorter than that bound (half of it), so a quiet healthy cluster confirms in time;
 * - `410 Gone` → list again; failures (status, ERROR, empty, garbage, held open, dropped) → retry from the
 *   last resourceVersion with bounded, jittered exponential backoff, and list again after every
 *   `relistAfter` failures in a row.
 */
import type { Logger } from '../../../../common/logger.js';
import { ApiError, getJson, type ApiConnection } from './api-client.js';
import type { K8sMetrics } from './metrics.js';
import { parseSecret, type SecretCredential } from './parse-secret.js';
import { Gone, watchOnce, WatchFailed } from './watch-once.js';

export interface InformerOptions {
  conn: ApiConnection;
  secretName: string;
  registryHost?: string | undefined;
  logger: Logger;
  metrics: K8sMetrics;
  /** Bound of one list page request. Default 30 s. */
  listTimeoutMs?: number;
  /** How old the last confirmation of the table may be before logins fail closed. Default 30 s. */
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

export const INFORMER_DEFAULTS = { listTimeoutMs: 30_000, staleAfterMs: 30_000, backoffBaseMs: 250, backoffMaxMs: 10_000, relistAfter: 3, pageSize: 500 } as const;

/** `timeoutSeconds` for a stale-after bound: half of it, so two watch ends fit in it. */
export const watchTimeoutFor = (staleAfterMs: number): number => Math.max(1, Math.min(300, Math.floor(staleAfterMs / 2000)));

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
const rvOf = (o: unknown): string | undefined => (isObject(o) && isObject(o.metadata) && typeof o.metadata.resourceVersion === 'string' ? o.metadata.resourceVersion : undefined);

export class SecretInformer {
  readonly table = new Map<string, SecretCredential>();
  private synced = false;
  /** When the table was last confirmed (list, progress, a watch run to its timeout). */
  private confirmedAt = -Infinity;
  private staleLogged = false;
  private readonly ctl = new AbortController();
  private readonly o: Required<Omit<InformerOptions, 'registryHost'>> & { registryHost?: string | undefined };
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private firstSync: Promise<void>;
  private markSynced!: () => void;

  constructor(opts: InformerOptions) {
    // An option given as undefined means "the default", not "no value".
    const given = Object.fromEntries(Object.entries(opts).filter(([, v]) => v !== undefined)) as InformerOptions;
    const staleAfterMs = given.staleAfterMs ?? INFORMER_DEFAULTS.staleAfterMs;
    const watchTimeoutSec = given.watchTimeoutSec ?? watchTimeoutFor(staleAfterMs);
    const watchGraceMs = Math.min(5000, Math.max(500, watchTimeoutSec * 200));
    this.o = { ...INFORMER_DEFAULTS, now: Date.now, watchTimeoutSec, watchGraceMs, ...given };
    this.firstSync = new Promise((resolve) => (this.markSynced = resolve));
  }

  /** True when the table may answer logins. */
  ready(): boolean {
    return this.synced && this.o.now() - this.confirmedAt <= this.o.staleAfterMs;
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
        if ((await this.watch(this.rv)) === 'ran-to-timeout') this.confirm();
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
        this.o.metrics.errors.inc({ kind: this.rv === undefined ? 'list' : 'watch' });
        const delay = Math.min(this.o.backoffMaxMs, this.o.backoffBaseMs * 2 ** Math.min(failures - 1, 16));
        const relist = failures % this.o.relistAfter === 0;
        const kind = e instanceof WatchFailed ? e.kind : undefined;
        if (kind === 'error-event') this.o.metrics.events.inc({ type: 'ERROR' });
        this.o.logger.warn({ err: (e as Error).message, kind, status: (e as ApiError).status, retryInMs: delay, failures, relist }, 'k8s secrets: list/watch failed, retrying');
        if (!this.ready() && this.synced && !this.staleLogged) {
          this.staleLogged = true;
          this.o.logger.error({ staleAfterMs: this.o.staleAfterMs }, 'k8s secrets: table not confirmed within the stale bound; namespace logins fail closed (503)');
        }
        if (relist) this.rv = undefined;
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
      r = await getJson(this.o.conn, q, this.o.listTimeoutMs);
      if (r.status === 410) throw new Gone('list continue token expired');
      if (r.status !== 200 || !isObject(r.json) || !Array.isArray(r.json.items) || !rvOf(r.json)) {
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
    this.confirm();
    if (!this.synced) {
      this.synced = true;
      this.markSynced();
    }
    return rv;
  }

  private confirm(): void {
    this.confirmedAt = this.o.now();
    if (this.staleLogged) this.o.logger.info('k8s secrets: table confirmed again; namespace logins answered');
    this.staleLogged = false;
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

  /** One watch from `from`; every event and bookmark that moves the resourceVersion on confirms the table. */
  private watch(from: string): ReturnType<typeof watchOnce> {
    const onEvent = (type: string, obj: Record<string, unknown>): boolean => {
      this.o.metrics.events.inc({ type: ['ADDED', 'MODIFIED', 'DELETED', 'BOOKMARK'].includes(type) ? type : 'other' }); // ERROR: counted where it fails the watch
      if (type === 'ADDED' || type === 'MODIFIED') this.apply(this.table, obj);
      else if (type === 'DELETED') {
        const ns = isObject(obj.metadata) && obj.metadata.name === this.o.secretName ? obj.metadata.namespace : undefined;
        if (typeof ns === 'string') this.table.delete(ns);
      } else if (type !== 'BOOKMARK') return false;
      this.o.metrics.secrets.set(this.table.size);
      const rv = rvOf(obj);
      if (rv === undefined || rv === this.rv) return false;
      this.rv = rv;
      this.confirm();
      return true;
    };
    const path = `${this.path}&watch=1&resourceVersion=${encodeURIComponent(from)}&allowWatchBookmarks=true`;
    return watchOnce({ conn: this.o.conn, path, timeoutSec: this.o.watchTimeoutSec, graceMs: this.o.watchGraceMs, signal: this.ctl.signal, onEvent, now: this.o.now });
  }
}

function statusMessage(json: unknown): string {
  return isObject(json) && typeof json.message === 'string' ? `: ${json.message.slice(0, 200)}` : '';
}
