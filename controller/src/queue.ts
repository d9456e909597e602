/**
 * The work queue between events and reconciles: one pending entry per key (a burst of events is one
 * reconcile), a key is never reconciled twice at once (an event during its reconcile runs it again
 * after), delayed entries for scheduled rotations (the earliest wins), and per-key exponential backoff
 * for failures. `workers` reconciles run in parallel.
 */
export interface QueueOptions {
  workers: number;
  handle: (key: string) => Promise<number | undefined>;
  onError: (key: string, err: unknown, retryInMs: number) => void;
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  now?: () => number;
}

export class WorkQueue {
  private readonly ready: string[] = [];
  private readonly queued = new Set<string>();
  private readonly active = new Set<string>();
  private readonly dirty = new Set<string>();
  private readonly timers = new Map<string, { at: number; t: NodeJS.Timeout }>();
  private readonly failures = new Map<string, number>();
  private running = 0;
  private paused = true;
  /** Reconciles finished (for tests and the benchmark). */
  done = 0;

  constructor(private readonly o: QueueOptions) {}

  /** Reconcile `key` now, or at `at` (ms since epoch) if given. */
  add(key: string, at?: number): void {
    const now = (this.o.now ?? Date.now)();
    if (at !== undefined && at > now) {
      const cur = this.timers.get(key);
      if (cur && cur.at <= at) return;
      if (cur) clearTimeout(cur.t);
      // setTimeout is capped at ~24.8 days; a later date re-arms when that fires.
      const t = setTimeout(() => {
        this.timers.delete(key);
        this.add(key, at);
      }, Math.min(at - now, 2 ** 31 - 1));
      this.timers.set(key, { at, t });
      return;
    }
    if (this.active.has(key)) {
      this.dirty.add(key);
      return;
    }
    if (this.queued.has(key)) return;
    this.queued.add(key);
    this.ready.push(key);
    this.pump();
  }

  /** When `key`'s delayed reconcile (a rotation, a timed retry, a backoff) is due (ms since epoch), or undefined. */
  timerAt(key: string): number | undefined {
    return this.timers.get(key)?.at;
  }

  forget(key: string): void {
    const cur = this.timers.get(key);
    if (cur) clearTimeout(cur.t);
    this.timers.delete(key);
    this.failures.delete(key);
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    this.pump();
  }

  get size(): number {
    return this.ready.length + this.running;
  }

  close(): void {
    this.paused = true;
    for (const { t } of this.timers.values()) clearTimeout(t);
    this.timers.clear();
  }

  private pump(): void {
    while (!this.paused && this.running < this.o.workers && this.ready.length) {
      const key = this.ready.shift()!;
      this.queued.delete(key);
      this.active.add(key);
      this.running++;
      void this.work(key);
    }
  }

  private async work(key: string): Promise<void> {
    try {
      const at = await this.o.handle(key);
      this.failures.delete(key);
      if (at !== undefined) this.add(key, at);
    } catch (e) {
      const n = (this.failures.get(key) ?? 0) + 1;
      this.failures.set(key, n);
      const delay = Math.min(this.o.backoffMaxMs ?? 60_000, (this.o.backoffBaseMs ?? 500) * 2 ** Math.min(n - 1, 16));
      this.o.onError(key, e, delay);
      this.add(key, (this.o.now ?? Date.now)() + delay);
    } finally {
      this.done++;
      this.active.delete(key);
      this.running--;
      if (this.dirty.delete(key)) this.add(key);
      this.pump();
    }
  }
}
