/**
 * One watch request of the reflector, and the verdict on how it ended. A 200 proves nothing (issue 18: an
 * API server that answers 200 and then sends an ERROR event, nothing at all, or an empty body, and a proxy
 * that holds the stream open, all kept a deleted Secret logging in). What counts:
 * - an event that moves the resourceVersion on (ADDED, MODIFIED, DELETED, or a BOOKMARK with a new one) is
 *   progress, reported through `onEvent` as it arrives;
 * - the server ending the stream cleanly at the `timeoutSeconds` we asked for proves that nothing was
 *   missed until then, even in a quiet cluster whose bookmarks carry an unchanged resourceVersion:
 *   `'ran-to-timeout'`;
 * - a stream that ends sooner with no progress is an *empty* watch, one that outlives the timeout (+ grace)
 *   is *broken* and aborted, an ERROR event or a garbage line is a failure: all throw `WatchFailed`;
 * - `410 Gone` (status or ERROR event) throws `Gone`: list again.
 */
import { ApiError, statusMessage, type KubeClient } from './client.js';
import { isObject } from '../is-object.js';

/** The watch asks for a fresh list (410 Gone). */
export class Gone extends Error {}

/** The watch proved nothing; `kind` for the log line and the backoff. */
export class WatchFailed extends ApiError {
  constructor(
    readonly kind: 'status' | 'error-event' | 'garbage' | 'empty' | 'outlived' | 'dropped',
    message: string,
    status?: number,
  ) {
    super(message, status);
  }
}

export interface WatchOnceOptions {
  kube: KubeClient;
  /** Path and query up to (not including) `timeoutSeconds`. */
  path: string;
  timeoutSec: number;
  /** How long past `timeoutSec` the stream may live before it counts as held open. */
  graceMs: number;
  signal: AbortSignal;
  /** One parsed event (never ERROR); returns true when it moved the resourceVersion on. */
  onEvent: (type: string, obj: Record<string, unknown>) => boolean;
  now: () => number;
}

export type WatchEnd = 'ran-to-timeout' | 'progressed';

export async function watchOnce(o: WatchOnceOptions): Promise<WatchEnd> {
  const ctl = new AbortController();
  const outlived = `API watch outlived its timeoutSeconds=${o.timeoutSec} by ${o.graceMs} ms`;
  const deadline = setTimeout(() => ctl.abort(outlived), o.timeoutSec * 1000 + o.graceMs);
  const onClose = () => ctl.abort('closed');
  o.signal.addEventListener('abort', onClose, { once: true });
  const started = o.now();
  let progressed = false;
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
      return fail(new WatchFailed('garbage', 'watch sent a line that is not JSON'));
    }
    const type = isObject(ev) ? ev.type : undefined;
    const obj = isObject(ev) ? ev.object : undefined;
    if (typeof type !== 'string' || !isObject(obj)) return fail(new WatchFailed('garbage', 'watch sent an event without type or object'));
    if (type === 'ERROR') {
      if (obj.code === 410) return fail(new Gone(String(obj.message ?? '410 Gone')));
      return fail(new WatchFailed('error-event', `watch ERROR event${statusMessage(obj)}`, typeof obj.code === 'number' ? obj.code : undefined));
    }
    if (o.onEvent(type, obj)) progressed = true;
  };
  try {
    const stream = await o.kube.watch(`${o.path}&timeoutSeconds=${o.timeoutSec}`, { signal: ctl.signal, onLine }).catch((e: unknown) => {
      throw ctl.signal.reason === outlived ? new WatchFailed('outlived', `${outlived} before answering`) : e;
    });
    if (stream.status === 410) throw new Gone('watch answered 410 Gone');
    if (stream.status !== 200) throw new WatchFailed('status', `watch answered ${stream.status}${statusMessage(stream.json)}`, stream.status);
    try {
      await stream.done;
    } catch (e) {
      if (failure) throw failure;
      if (progressed) return 'progressed';
      throw ctl.signal.reason === outlived ? new WatchFailed('outlived', `${outlived} without progress`) : new WatchFailed('dropped', (e as Error).message);
    }
    if (failure) throw failure;
    // The server's clock started after ours: a clean end this late is the timeout we asked for.
    const ranToTimeout = o.now() - started >= o.timeoutSec * 1000 - Math.min(1000, o.timeoutSec * 50);
    if (ranToTimeout) return 'ran-to-timeout';
    if (progressed) return 'progressed';
    throw new WatchFailed('empty', `watch ended after ${o.now() - started} ms with nothing in it (asked for ${o.timeoutSec} s)`);
  } finally {
    clearTimeout(deadline);
    o.signal.removeEventListener('abort', onClose);
  }
}
