/**
 * The controller: an informer over every RegistryCredential feeds a work queue; the queue runs the
 * reconcile on a fresh GET of the object (the cache may lag our own writes) and schedules the next
 * rotation it asks for. Events that change only status (our own writes) are skipped; everything is
 * resynced every `resyncMs`, so a missed event costs a delay, not a wrong state. With a Lease, only the
 * leader reconciles; a new leader starts with every key (rotations are scheduled from status, so
 * nothing rotates early and nothing due is missed).
 */
import { CR } from './decide/spec.js';
import { Failure, type CredentialObject, type ReconcileDeps } from './reconcile/types.js';
import { reconcile, reportFailure } from './reconcile/index.js';
import { Stale } from './reconcile/cr-writes.js';
import { AuthzUnavailable } from './authz-client.js';
import { Informer } from './kube/informer.js';
import { LeaderElector } from './kube/lease.js';
import { paths, statusMessage } from './kube/client.js';
import { WorkQueue } from './queue.js';
import { createControllerMetrics, watchController, type ControllerMetrics } from './metrics.js';

export interface ControllerOptions {
  workers?: number;
  resyncMs?: number;
  lease?: { namespace: string; name: string; identity: string; leaseSec?: number; renewDeadlineMs?: number; retryMs?: number };
  backoffBaseMs?: number;
  /** How long the cache may go unconfirmed by the API server before /readyz says 503 (tests shorten it). */
  staleAfterMs?: number;
}

/** What a reconcile depends on besides status: an event that changes none of it (our own status write) needs none. */
const signature = (o: CredentialObject | undefined) =>
  o ? `${o.metadata.generation ?? 0}|${o.metadata.deletionTimestamp ?? ''}|${(o.metadata.finalizers ?? []).join(',')}` : '';

export class Controller {
  readonly informer: Informer;
  readonly queue: WorkQueue;
  readonly leader: LeaderElector | undefined;
  readonly metrics: ControllerMetrics = createControllerMetrics();
  private readonly seen = new Map<string, string>();
  private resync: NodeJS.Timeout | undefined;
  private readonly d: ReconcileDeps;

  constructor(deps: ReconcileDeps, opts: ControllerOptions = {}) {
    const inner = deps.events;
    // Every Event the reconciles report is counted, whichever step reports it.
    this.d = { ...deps, events: { record: (reg, type, reason, note) => (this.metrics.events.inc({ reason }), inner.record(reg, type, reason, note)) } };
    const d = this.d;
    this.queue = new WorkQueue({
      workers: opts.workers ?? 4,
      handle: (key) => this.handle(key),
      onError: (key, err, retryInMs) => d.logger.warn({ key, err: (err as Error).message, retryInMs }, 'controller: reconcile failed'),
      backoffBaseMs: opts.backoffBaseMs ?? 500,
    });
    this.informer = new Informer({ kube: d.kube, path: paths.crs(), logger: d.logger, onChange: (k) => this.changed(k), staleAfterMs: opts.staleAfterMs });
    if (opts.lease) {
      this.leader = new LeaderElector({
        kube: d.kube,
        logger: d.logger,
        ...opts.lease,
        onStart: () => {
          for (const k of this.informer.cache.keys()) this.queue.add(k);
          this.queue.resume();
        },
        onStop: () => this.queue.pause(),
      });
    }
    this.resyncMs = opts.resyncMs ?? 10 * 60_000;
    watchController(this.metrics, this);
  }

  private readonly resyncMs: number;

  start(): void {
    this.informer.start();
    if (this.leader) this.leader.start();
    else this.queue.resume();
    this.resync = setInterval(() => {
      for (const k of this.informer.cache.keys()) this.queue.add(k);
    }, this.resyncMs);
    this.resync.unref();
  }

  async close(): Promise<void> {
    clearInterval(this.resync);
    this.queue.close();
    await this.leader?.close();
    await this.informer.close();
    this.d.kube.close();
  }

  private changed(key: string): void {
    const obj = this.informer.cache.get(key) as CredentialObject | undefined;
    const sig = signature(obj);
    if (!obj) {
      this.seen.delete(key);
      this.queue.forget(key);
      return;
    }
    if (this.seen.get(key) === sig && obj.status?.observedGeneration === obj.metadata.generation) return;
    this.seen.set(key, sig);
    this.queue.add(key);
  }

  private async handle(key: string): Promise<number | undefined> {
    const [ns, name] = key.split('/') as [string, string];
    const r = await this.d.kube.get(paths.cr(ns, name));
    if (r.status === 404) return undefined;
    if (r.status !== 200) throw new Error(`GET ${CR.plural} ${key} answered ${r.status}${statusMessage(r.json)}`);
    const cr = r.json as CredentialObject;
    try {
      const at = (await reconcile(this.d, cr)).requeueAt;
      this.metrics.reconciles.inc({ result: 'ok' });
      return at;
    } catch (e) {
      if (e instanceof Stale) {
        this.metrics.reconciles.inc({ result: 'retry' });
        return Date.now() + 200;
      }
      this.metrics.reconciles.inc({ result: 'error' });
      // Could not decide (authz down, API refusals): say so on the CR, then retry with backoff.
      const reason = e instanceof AuthzUnavailable ? 'AuthzUnavailable' : 'ApiError';
      await reportFailure(this.d, cr, new Failure(reason, (e as Error).message)).catch(() => undefined);
      throw e;
    }
  }
}
