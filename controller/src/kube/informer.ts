/**
 * A cache of one resource across all namespaces, fed by tollgate's one reflector (common/kube/reflector.ts:
 * paged list, watch from its resourceVersion with bookmarks, 410 → list again, a silent or held-open watch
 * aborted at its timeoutSeconds, jittered backoff). Every change is handed to `onChange(key)`; a list
 * reports every key (the cache may have missed deletions), so the consumer's view converges whatever was
 * lost. `ready()` is false once the cache has not been confirmed for `staleAfterMs` (the /readyz answer).
 */
import type { Logger } from '../../../common/logger.js';
import { Reflector, type ReflectorTimings } from '../../../common/kube/reflector.js';
import type { KubeClient } from './client.js';
import { isObject } from '../../../common/is-object.js';

export interface InformerOptions extends ReflectorTimings {
  kube: KubeClient;
  /** Collection path, e.g. `/apis/registry.tollgate.dev/v1alpha1/registrycredentials`. */
  path: string;
  logger: Logger;
  onChange: (key: string) => void;
}

type Obj = { metadata: { namespace?: string; name: string; resourceVersion?: string } } & Record<string, unknown>;
const keyOf = (o: Obj) => `${o.metadata.namespace ?? ''}/${o.metadata.name}`;
const valid = (o: unknown): o is Obj => isObject(o) && isObject(o.metadata) && typeof o.metadata.name === 'string';

/** A controller resyncs from its cache every few minutes: ten minutes without confirmation is stale. */
export const CONTROLLER_STALE_AFTER_MS = 600_000;

export class Informer {
  readonly cache = new Map<string, Obj>();
  private readonly reflector: Reflector;
  readonly synced: Promise<void>;

  constructor(o: InformerOptions) {
    const { kube, path, logger, onChange, ...timings } = o;
    this.reflector = new Reflector({
      staleAfterMs: CONTROLLER_STALE_AFTER_MS,
      ...timings,
      kube,
      path,
      name: 'controller',
      logger,
      sink: {
        replace: (items) => {
          const next = new Map<string, Obj>();
          for (const item of items) if (valid(item)) next.set(keyOf(item), item);
          const keys = new Set([...this.cache.keys(), ...next.keys()]);
          this.cache.clear();
          for (const [k, v] of next) this.cache.set(k, v);
          for (const k of keys) onChange(k);
        },
        event: (type, obj) => {
          if (!valid(obj)) return;
          const key = keyOf(obj);
          if (type === 'DELETED') this.cache.delete(key);
          else this.cache.set(key, obj);
          onChange(key);
        },
      },
    });
    this.synced = this.reflector.firstSync;
  }

  /** Lists completed (a re-list after 410 Gone or repeated failures counts). */
  get relists(): number {
    return this.reflector.lists;
  }

  /** Listed, and confirmed within the stale bound. */
  ready(): boolean {
    return this.reflector.ready();
  }

  start(): void {
    this.reflector.start();
  }

  close(): Promise<void> {
    return this.reflector.close();
  }
}
