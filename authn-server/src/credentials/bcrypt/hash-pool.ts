/**
 * bcrypt on worker threads. bcryptjs is pure JS: on the event loop one cost-10 compare holds it for
 * ≈ 70 ms, so a handful of strangers sending random user names made every cached login, refresh grant
 * and health check wait behind their hashing. Here each compare runs on one of `workers` threads and
 * the event loop only posts a message.
 *
 * - At most `maxQueue` checks wait for a thread; one more is refused at once with `HashBusyError`
 *   (`queue-full`, Retry-After from the measured time per check) instead of making everyone slower.
 * - Threads start on first use and are `unref`ed, so an idle pool keeps no process alive; a thread that
 *   dies fails its check (could not decide → 503) and is replaced on the next one.
 * - A thread idle for `idleMs` (default 10 s) exits: each holds its own V8 heap (≈ 7–11 MB of RSS), and
 *   uncached checks come in bursts (a rollout, a new CI job) between long stretches of cached logins.
 *   The next check starts a thread again (≈ 30 ms, against ≈ 70 ms for a cost-10 compare).
 * - Hashes made for internal use (the unknown-user dummy) skip the queue bound: they are not requests.
 * - Two lanes: checks against a user's real hash (`known`) go before the dummy compares of names nobody
 *   knows (`unknown`), and each lane has its own `maxQueue`. A flood of made-up names from many addresses
 *   fills only the unknown lane, so a real user's first (uncached) login still gets a thread instead of a 503.
 */
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';

/** Refusal of an uncached password check: too many waiting (`queue-full`) or this client used its budget (`client-limit`). */
export class HashBusyError extends Error {
  constructor(
    readonly reason: 'queue-full' | 'client-limit',
    readonly retryAfterSec: number,
  ) {
    super(reason === 'queue-full' ? 'password check queue is full' : 'too many uncached password checks from this client');
    this.name = 'HashBusyError';
  }
}

export interface HashPoolOptions {
  /** Worker threads. Default: cores − 1 (at least 1, at most 8), leaving a core for the event loop. */
  workers?: number;
  /** Checks allowed to wait for a thread. Default 16 per thread. */
  maxQueue?: number;
  /** A thread with nothing to do for this long exits (ms). Default 10 000. */
  idleMs?: number;
}

export const HASH_THREAD_IDLE_MS = 10_000;

/** Whose check it is: a user's real hash, or the dummy compare of a name nobody knows. */
export type Lane = 'known' | 'unknown';

export interface HashPool {
  compare(password: string, hash: string, lane?: Lane): Promise<boolean>;
  /** Internal hashes (not bounded by the queue). */
  hash(password: string, cost: number): Promise<string>;
  /** Checks waiting for a thread (tests, metrics). */
  readonly waiting: number;
  /** Threads running now (tests, metrics). */
  readonly threads: number;
  close(): Promise<void>;
}

const defaultHashWorkers = (): number => Math.min(8, Math.max(1, availableParallelism() - 1));

// CommonJS, evaluated in each thread; bcryptjs is resolved here so it works from src/ (tsx) and dist/ alike.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const bcrypt = require(workerData.bcrypt);
parentPort.on('message', (m) => {
  try {
    const result = m.op === 'compare' ? bcrypt.compareSync(m.password, m.hash) : bcrypt.hashSync(m.password, m.cost);
    parentPort.postMessage({ result });
  } catch (e) {
    parentPort.postMessage({ error: String((e && e.message) || e) });
  }
});`;

type Job = { msg: { op: 'compare'; password: string; hash: string } | { op: 'hash'; password: string; cost: number }; resolve: (v: unknown) => void; reject: (e: Error) => void };

interface Slot {
  worker: Worker;
  job: Job | undefined;
  startedAt: number;
  idle: NodeJS.Timeout | undefined;
}

export function createHashPool(opts: HashPoolOptions = {}): HashPool {
  const size = Math.max(1, opts.workers ?? defaultHashWorkers());
  const maxQueue = Math.max(0, opts.maxQueue ?? 16 * size);
  const idleMs = opts.idleMs ?? HASH_THREAD_IDLE_MS;
  const bcryptPath = createRequire(import.meta.url).resolve('bcryptjs');
  const slots: Slot[] = [];
  const lanes: Record<Lane, Job[]> = { known: [], unknown: [] };
  const waiting = (): number => lanes.known.length + lanes.unknown.length;
  let avgMs = 100;
  let closed = false;

  function spawn(): Slot {
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { bcrypt: bcryptPath } });
    worker.unref();
    const slot: Slot = { worker, job: undefined, startedAt: 0, idle: undefined };
    const finish = (fn: (job: Job) => void): void => {
      const job = slot.job;
      slot.job = undefined;
      if (job) fn(job);
      next();
      if (!slot.job && slots.includes(slot)) retireWhenIdle(slot);
    };
    worker.on('message', (m: { result?: unknown; error?: string }) => {
      avgMs = avgMs * 0.8 + (performance.now() - slot.startedAt) * 0.2;
      worker.unref();
      finish((job) => (m.error === undefined ? job.resolve(m.result) : job.reject(new Error(m.error))));
    });
    const died = (err: Error): void => {
      slots.splice(slots.indexOf(slot), 1);
      finish((job) => job.reject(err));
    };
    worker.on('error', died);
    worker.on('exit', (code) => {
      if (slots.includes(slot)) died(new Error(`password-check thread exited (${code})`));
    });
    slots.push(slot);
    return slot;
  }

  /** Out of `slots` first, so its exit is not taken for a death; a check arriving later spawns anew. */
  function retireWhenIdle(slot: Slot): void {
    clearTimeout(slot.idle);
    slot.idle = setTimeout(() => {
      if (slot.job || !slots.includes(slot)) return;
      slots.splice(slots.indexOf(slot), 1);
      void slot.worker.terminate();
    }, idleMs);
    slot.idle.unref();
  }

  function next(): void {
    while (waiting() && !closed) {
      const slot = slots.find((s) => !s.job) ?? (slots.length < size ? spawn() : undefined);
      if (!slot) return;
      const job = (lanes.known.length ? lanes.known : lanes.unknown).shift()!;
      clearTimeout(slot.idle);
      slot.job = job;
      slot.startedAt = performance.now();
      // ref'd while busy so a pending check keeps the process alive, as an async bcrypt would.
      slot.worker.ref();
      slot.worker.postMessage(job.msg);
    }
  }

  function run<T>(msg: Job['msg'], bounded: boolean, lane: Lane): Promise<T> {
    if (closed) return Promise.reject(new Error('password-check pool is closed'));
    const busy = slots.length >= size && slots.every((s) => s.job);
    const queue = lanes[lane];
    if (bounded && busy && queue.length >= maxQueue) {
      const ahead = lane === 'known' ? queue.length : waiting();
      const waitSec = ((ahead + size) * avgMs) / size / 1000;
      return Promise.reject(new HashBusyError('queue-full', Math.max(1, Math.ceil(waitSec))));
    }
    return new Promise<T>((resolve, reject) => {
      queue.push({ msg, resolve: resolve as (v: unknown) => void, reject });
      next();
    });
  }

  return {
    compare: (password, hash, lane = 'known') => run<boolean>({ op: 'compare', password, hash }, true, lane),
    hash: (password, cost) => run<string>({ op: 'hash', password, cost }, false, 'known'),
    get waiting() {
      return waiting();
    },
    get threads() {
      return slots.length;
    },
    async close() {
      closed = true;
      for (const job of [...lanes.known.splice(0), ...lanes.unknown.splice(0)]) job.reject(new Error('password-check pool is closed'));
      const all = slots.splice(0);
      for (const s of all) clearTimeout(s.idle);
      await Promise.all(all.map((s) => s.worker.terminate()));
      for (const s of all) s.job?.reject(new Error('password-check pool is closed'));
    },
  };
}
