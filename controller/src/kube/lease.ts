/**
 * Leader election through a `coordination.k8s.io/v1` Lease (client-go's rules): take the Lease only when
 * `renewTime + leaseDurationSeconds` has passed, write it with the resourceVersion read (two candidates:
 * one gets 409 and stays a follower), renew every `retryMs`; a leader that has not renewed for
 * `renewDeadlineMs` stops working before its lease can run out. Times are MicroTime (six digits).
 * A leader renews with one PUT of the Lease as it last wrote it (its resourceVersion is the check): a
 * 409 means someone else wrote it since, so it reads the Lease afresh and decides again.
 * Releasing on shutdown empties `holderIdentity`, so another replica takes over at once.
 */
import type { Logger } from '../../../common/logger.js';
import { microTime, parseTime } from '../decide/schedule.js';
import { paths, type KubeClient } from './client.js';
import { isObject } from '../../../common/is-object.js';

export interface LeaseOptions {
  kube: KubeClient;
  namespace: string;
  name: string;
  identity: string;
  logger: Logger;
  leaseSec?: number;
  renewDeadlineMs?: number;
  retryMs?: number;
  now?: () => number;
  onStart: () => void;
  onStop: () => void;
}

export class LeaderElector {
  private leading = false;
  private lastRenew = 0;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly leaseSec: number;
  private readonly now: () => number;
  /** The Lease as this replica last wrote it, while it holds it: the steady-state renew replaces it as is. */
  private held: Record<string, unknown> | undefined;

  constructor(private readonly o: LeaseOptions) {
    this.leaseSec = o.leaseSec ?? 15;
    this.now = o.now ?? Date.now;
  }

  isLeader(): boolean {
    return this.leading;
  }

  start(): void {
    const tick = async () => {
      if (this.closed) return;
      try {
        this.inflight = this.tryAcquireOrRenew();
        const leading = await this.inflight;
        if (!this.closed) this.set(leading);
      } catch (e) {
        this.o.logger.warn({ err: (e as Error).message }, 'controller: lease call failed');
      } finally {
        this.inflight = undefined;
      }
      if (!this.closed) this.timer = setTimeout(() => void tick(), this.o.retryMs ?? 2000);
    };
    // A watchdog apart from the renew call: a hanging API request must not keep a stale leader working.
    this.watchdog = setInterval(() => {
      if (this.leading && this.now() - this.lastRenew > (this.o.renewDeadlineMs ?? 10_000)) this.set(false);
    }, Math.min(1000, this.o.retryMs ?? 2000));
    this.watchdog.unref();
    void tick();
  }

  private watchdog: NodeJS.Timeout | undefined;
  /** The acquire/renew call under way: close() lets it finish, so the release PUT carries the latest resourceVersion. */
  private inflight: Promise<boolean> | undefined;

  private set(leading: boolean): void {
    if (leading) this.lastRenew = this.now();
    if (leading === this.leading) return;
    this.leading = leading;
    this.o.logger.info({ identity: this.o.identity, lease: `${this.o.namespace}/${this.o.name}` }, leading ? 'controller: became leader' : 'controller: stopped leading');
    if (leading) this.o.onStart();
    else this.o.onStop();
  }

  private spec(old: Record<string, unknown> | undefined, take: boolean): Record<string, unknown> {
    const t = microTime(this.now());
    const transitions = typeof old?.leaseTransitions === 'number' ? old.leaseTransitions : 0;
    return take
      ? { holderIdentity: this.o.identity, leaseDurationSeconds: this.leaseSec, acquireTime: t, renewTime: t, leaseTransitions: old ? transitions + 1 : 0 }
      : { ...old, renewTime: t, leaseDurationSeconds: this.leaseSec };
  }

  private async tryAcquireOrRenew(): Promise<boolean> {
    if (this.held && this.leading) {
      const renewed = await this.write(this.held, false);
      if (renewed !== 409) return true;
    }
    this.held = undefined;
    const { kube, namespace, name, identity } = this.o;
    const r = await kube.get(paths.lease(namespace, name));
    if (r.status === 404) {
      const c = await kube.create(paths.leases(namespace), { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name, namespace }, spec: this.spec(undefined, true) });
      if (isObject(c.json) && (c.status === 201 || c.status === 200)) this.held = c.json;
      return this.held !== undefined;
    }
    if (r.status !== 200 || !isObject(r.json)) throw new Error(`GET lease answered ${r.status}`);
    const lease = r.json;
    const spec = isObject(lease.spec) ? lease.spec : {};
    const mine = spec.holderIdentity === identity;
    const renewed = parseTime(spec.renewTime) ?? 0;
    const duration = typeof spec.leaseDurationSeconds === 'number' ? spec.leaseDurationSeconds : this.leaseSec;
    const free = !spec.holderIdentity || renewed + duration * 1000 < this.now();
    if (!mine && !free) return false;
    return (await this.write(lease, !mine)) === 200;
  }

  /**
   * PUTs `lease` renewed (or taken) with its resourceVersion. 200: it is held; 409: someone else wrote it
   * (the caller re-reads); any other answer throws, keeping what is held, so a leader retries its renew
   * until the watchdog's renew deadline — a passing API error does not hand the Lease over.
   */
  private async write(lease: Record<string, unknown>, take: boolean): Promise<200 | 409> {
    const spec = isObject(lease.spec) ? lease.spec : {};
    const w = await this.o.kube.replace(paths.lease(this.o.namespace, this.o.name), { ...lease, spec: this.spec(spec, take) });
    if (w.status === 200 && isObject(w.json)) {
      this.held = w.json;
      return 200;
    }
    if (w.status === 409) return 409;
    throw new Error(`PUT lease answered ${w.status}`);
  }

  /** Stops campaigning; a leader hands the Lease back (empty holder) so a follower need not wait it out. */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    clearInterval(this.watchdog);
    await this.inflight?.catch(() => undefined);
    // Held but not leading: taken by the call that was under way as close() began.
    if (!this.leading && !this.held) return;
    if (this.leading) this.set(false);
    // One PUT of the Lease as last written (its resourceVersion is the check): a 409 means someone else wrote
    // it since — nothing of ours to release. Read it only when nothing is held (a renew failed half-way).
    const lease = this.held ?? (await this.readOwn());
    this.held = undefined;
    if (!lease) return;
    const spec = isObject(lease.spec) ? lease.spec : {};
    await this.o.kube.replace(paths.lease(this.o.namespace, this.o.name), { ...lease, spec: { ...spec, holderIdentity: '', leaseDurationSeconds: 1 } }).catch(() => undefined);
  }

  /** The Lease if this replica holds it, read afresh; undefined otherwise or when it cannot be read. */
  private async readOwn(): Promise<Record<string, unknown> | undefined> {
    const r = await this.o.kube.get(paths.lease(this.o.namespace, this.o.name)).catch(() => undefined);
    if (r?.status !== 200 || !isObject(r.json) || !isObject(r.json.spec) || r.json.spec.holderIdentity !== this.o.identity) return undefined;
    return r.json;
  }
}
