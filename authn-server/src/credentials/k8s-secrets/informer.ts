/**
 * The Secret table of watch mode: common/kube/reflector.ts lists and watches the named Secret across all
 * namespaces (paged list, watch from its resourceVersion, bookmarks, 410 → list again, backoff) and this
 * file keeps what it delivers as namespace → credential. It fails closed (issue 18): `ready()` is the
 * reflector's — false before the first list and once the table has not been confirmed for
 * `staleAfterMs` (a 200 alone, silence, ERROR events and empty watches confirm nothing) — and the
 * backend then answers 503 instead of logging in from an old table.
 */
import type { Logger } from '../../../../common/logger.js';
import type { KubeClient } from '../../../../common/kube/client.js';
import { Reflector, REFLECTOR_DEFAULTS, type ReflectorTimings } from '../../../../common/kube/reflector.js';
import type { K8sMetrics } from './metrics.js';
import { parseSecret, type SecretCredential } from './parse-secret.js';
import { isObject } from '../../../../common/is-object.js';

export interface InformerOptions extends ReflectorTimings {
  kube: KubeClient;
  secretName: string;
  registryHost?: string | undefined;
  logger: Logger;
  metrics: K8sMetrics;
}

export class SecretInformer {
  readonly table = new Map<string, SecretCredential>();
  private readonly reflector: Reflector;

  constructor(private readonly o: InformerOptions) {
    const { kube, secretName, logger, metrics, registryHost: _host, ...timings } = o;
    this.reflector = new Reflector({
      ...timings,
      kube,
      path: '/api/v1/secrets',
      query: `fieldSelector=${encodeURIComponent(`metadata.name=${secretName}`)}`,
      name: 'k8s secrets',
      logger,
      sink: {
        replace: (items) => this.replace(items),
        event: (type, obj) => this.event(type, obj),
      },
      hooks: {
        watchEvent: (type) => metrics.events.inc({ type }),
        gone: () => metrics.relists.inc(),
        failure: (kind) => metrics.errors.inc({ kind }),
        stale: (stale) =>
          stale
            ? logger.error({ staleAfterMs: timings.staleAfterMs ?? REFLECTOR_DEFAULTS.staleAfterMs }, 'k8s secrets: table not confirmed within the stale bound; namespace logins fail closed (503)')
            : logger.info('k8s secrets: table confirmed again; namespace logins answered'),
      },
    });
  }

  /** True when the table may answer logins. */
  ready(): boolean {
    return this.reflector.ready();
  }

  /** Resolves after the first complete list (tests, benchmarks). */
  synced$(): Promise<void> {
    return this.reflector.firstSync;
  }

  start(): void {
    this.reflector.start();
  }

  close(): Promise<void> {
    return this.reflector.close();
  }

  private replace(items: unknown[]): void {
    const next = new Map<string, SecretCredential>();
    for (const item of items) this.apply(next, item);
    this.table.clear();
    for (const [k, v] of next) this.table.set(k, v);
    this.o.metrics.secrets.set(this.table.size);
  }

  private event(type: 'ADDED' | 'MODIFIED' | 'DELETED', obj: Record<string, unknown>): void {
    if (type !== 'DELETED') this.apply(this.table, obj);
    else {
      const ns = isObject(obj.metadata) && obj.metadata.name === this.o.secretName ? obj.metadata.namespace : undefined;
      if (typeof ns === 'string') this.table.delete(ns);
    }
    this.o.metrics.secrets.set(this.table.size);
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
}
