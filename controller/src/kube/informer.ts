/**
 * List + watch of one resource across all namespaces into an in-memory cache (client-go's reflector,
 * reduced): paged list, swap the cache in one step, watch from the list's resourceVersion with
 * bookmarks; `410 Gone` (status or ERROR event) → list again; dropped connections, ERROR events,
 * garbage lines and a silent watch → reconnect from the last resourceVersion with jittered backoff.
 * Every change is handed to `onChange(key)`; a re-list reports every key (the cache may have missed
 * deletions), so the consumer's view converges whatever was lost.
 */
import type { Logger } from '../../../common/logger.js';
import { ApiError, statusMessage, type KubeClient } from './client.js';

export interface InformerOptions {
  kube: KubeClient;
  /** Collection path, e.g. `/apis/registry.tollgate.dev/v1alpha1/registrycredentials`. */
  path: string;
  logger: Logger;
  onChange: (key: string) => void;
  pageSize?: number;
  watchTimeoutSec?: number;
  idleMs?: number;
  backoffBaseMs?: number;
  backoffMaxMs?: number;
}

type Obj = { metadata: { namespace?: string; name: string; resourceVersion?: string } } & Record<string, unknown>;
const isObj = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
const keyOf = (o: Obj) => `${o.metadata.namespace ?? ''}/${o.metadata.name}`;
const valid = (o: unknown): o is Obj => isObj(o) && isObj(o.metadata) && typeof o.metadata.name === 'string';

class Gone extends Error {}

export class Informer {
  readonly cache = new Map<string, Obj>();
  private readonly ctl = new AbortController();
  private loop: Promise<void> | undefined;
  private rv: string | undefined;
  private wake: (() => void) | undefined;
  private markSynced!: () => void;
  readonly synced = new Promise<void>((r) => (this.markSynced = r));
  relists = 0;

  constructor(private readonly o: InformerOptions) {}

  start(): void {
    this.loop ??= this.run();
  }

  async close(): Promise<void> {
    this.ctl.abort('closed');
    this.wake?.();
    await this.loop;
  }

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
          this.o.logger.info({ reason: e.message }, 'controller: resourceVersion too old, listing again');
          this.rv = undefined;
          continue;
        }
        failures++;
        const max = this.o.backoffMaxMs ?? 10_000;
        const delay = Math.min(max, (this.o.backoffBaseMs ?? 250) * 2 ** Math.min(failures - 1, 16));
        this.o.logger.warn({ err: (e as Error).message, retryInMs: delay }, 'controller: list/watch failed, retrying');
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, delay / 2 + Math.random() * (delay / 2));
          this.wake = () => {
            clearTimeout(t);
            resolve();
          };
        });
      }
    }
  }

  private async list(): Promise<string> {
    const next = new Map<string, Obj>();
    let cont = '';
    let rv = '';
    do {
      const q = `${this.o.path}?limit=${this.o.pageSize ?? 500}${cont ? `&continue=${encodeURIComponent(cont)}` : ''}`;
      const r = await this.o.kube.get(q);
      if (r.status === 410) throw new Gone('list continue token expired');
      if (r.status !== 200 || !isObj(r.json) || !Array.isArray(r.json.items) || !isObj(r.json.metadata)) {
        throw new ApiError(`list ${this.o.path} answered ${r.status}${statusMessage(r.json)}`, r.status);
      }
      for (const item of r.json.items) if (valid(item)) next.set(keyOf(item), item);
      rv = String(r.json.metadata.resourceVersion ?? '');
      cont = typeof r.json.metadata.continue === 'string' ? r.json.metadata.continue : '';
    } while (cont);
    this.relists++;
    const keys = new Set([...this.cache.keys(), ...next.keys()]);
    this.cache.clear();
    for (const [k, v] of next) this.cache.set(k, v);
    this.markSynced();
    for (const k of keys) this.o.onChange(k);
    return rv;
  }

  /** One watch line: moves the resourceVersion on, updates the cache, reports the key; `fail` ends the watch. */
  private event(line: string, fail: (e: Error) => void): void {
    let ev: unknown;
    try {
      ev = JSON.parse(line);
    } catch {
      return fail(new ApiError('watch sent a line that is not JSON'));
    }
    const type = isObj(ev) ? ev.type : undefined;
    const obj = isObj(ev) ? ev.object : undefined;
    if (typeof type !== 'string' || !isObj(obj)) return fail(new ApiError('watch sent an event without type or object'));
    if (type === 'ERROR') {
      if (obj.code === 410) return fail(new Gone(String(obj.message ?? '410 Gone')));
      return fail(new ApiError(`watch ERROR event${statusMessage(obj)}`));
    }
    if (isObj(obj.metadata) && typeof obj.metadata.resourceVersion === 'string') this.rv = obj.metadata.resourceVersion;
    if (type === 'BOOKMARK' || !valid(obj)) return;
    const key = keyOf(obj);
    if (type === 'DELETED') this.cache.delete(key);
    else if (type === 'ADDED' || type === 'MODIFIED') this.cache.set(key, obj);
    else return;
    this.o.onChange(key);
  }

  private async watch(from: string): Promise<void> {
    const ctl = new AbortController();
    const onClose = () => ctl.abort('closed');
    this.ctl.signal.addEventListener('abort', onClose, { once: true });
    let failure: Error | undefined;
    const fail = (e: Error) => {
      failure ??= e;
      ctl.abort(e.message);
    };
    // The API server ends a watch at the timeoutSeconds asked for and sends bookmarks now and then: a watch that
    // outlives that timeout (a proxy holding it open) or says nothing for idleMs (hung) is aborted, and the loop
    // lists again, so new RegistryCredentials are never missed for long.
    const timeoutSec = this.o.watchTimeoutSec ?? 300;
    const idleMs = this.o.idleMs ?? 90_000;
    const deadline = setTimeout(() => fail(new Error(`watch outlived its timeoutSeconds (${timeoutSec} s)`)), timeoutSec * 1000 + 5_000);
    let idle = setTimeout(() => fail(new Error(`watch silent for ${idleMs} ms`)), idleMs);
    const onLine = (line: string) => {
      clearTimeout(idle);
      idle = setTimeout(() => fail(new Error(`watch silent for ${idleMs} ms`)), idleMs);
      if (!failure) this.event(line, fail);
    };
    const path = `${this.o.path}?watch=1&resourceVersion=${encodeURIComponent(from)}&allowWatchBookmarks=true&timeoutSeconds=${timeoutSec}`;
    try {
      const stream = await this.o.kube.watch(path, { signal: ctl.signal, onLine });
      if (stream.status === 410) throw new Gone('watch answered 410 Gone');
      if (stream.status !== 200) throw new ApiError(`watch answered ${stream.status}${statusMessage(stream.json)}`, stream.status);
      await stream.done.catch((e: unknown) => {
        throw failure ?? e;
      });
      if (failure) throw failure;
    } finally {
      clearTimeout(deadline);
      clearTimeout(idle);
      this.ctl.signal.removeEventListener('abort', onClose);
    }
  }
}
