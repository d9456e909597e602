/**
 * Real processes for the e2e suite: free loopback ports, spawn with output captured to a log file,
 * wait until ready, stop by PID. Every process spawned here is remembered, and a process-exit hook
 * SIGKILLs whatever a failed test left behind, so no daemon outlives the test run.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname, '..', '..');

const live = new Set<Proc>();
let hooked = false;
function safetyNet(): void {
  if (hooked) return;
  hooked = true;
  process.on('exit', () => {
    for (const p of live) {
      try {
        if (p.child.pid) process.kill(p.opts.detached ? -p.child.pid : p.child.pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
  });
}

/** A port nobody listens on right now (bound then released on 127.0.0.1). */
export function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.once('error', fail);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => ok(port));
    });
  });
}

/** A temp directory removed by `cleanup()`. */
export function tempDir(prefix = 'tollgate-e2e-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true, maxRetries: 3 }) };
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** True while a process with this PID exists (signal 0 checks without sending anything). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export interface SpawnOptions {
  name: string;
  cmd: string;
  args: string[];
  /** Output (stdout + stderr) goes here, and is kept in memory for `output()`. */
  logFile: string;
  env?: NodeJS.ProcessEnv;
  /** Inherited variables to leave out (e.g. a developer's TOLLGATE_AUTHN_* settings). */
  dropEnv?: RegExp;
  cwd?: string;
  /**
   * Own process group (like a command started from a shell prompt), so a test can send a signal to
   * the whole group the way a terminal's Ctrl-C does; `stop()` then signals the group too.
   */
  detached?: boolean;
}

export class Proc {
  readonly child: ChildProcess;
  private text = '';
  private exited: Promise<number | null>;
  exitCode: number | null | undefined;
  /** The signal that ended the process, if one did (then `exitCode` is -1). */
  exitSignal: NodeJS.Signals | null = null;

  constructor(readonly opts: SpawnOptions) {
    safetyNet();
    const log = createWriteStream(opts.logFile, { flags: 'a' });
    const inherited = Object.fromEntries(Object.entries(process.env).filter(([k]) => !opts.dropEnv?.test(k)));
    this.child = spawn(opts.cmd, opts.args, { cwd: opts.cwd ?? ROOT, env: { ...inherited, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'], detached: opts.detached ?? false });
    const take = (b: Buffer) => {
      this.text += b.toString();
      log.write(b);
    };
    this.child.stdout?.on('data', take);
    this.child.stderr?.on('data', take);
    live.add(this);
    this.exited = new Promise((ok) => {
      this.child.once('error', (e) => {
        this.text += `\nspawn error: ${e.message}\n`;
        live.delete(this);
        this.exitCode = null;
        ok(null);
      });
      this.child.once('exit', (code, signal) => {
        live.delete(this);
        this.exitSignal = signal;
        this.exitCode = code ?? (signal ? -1 : null);
        log.end();
        ok(this.exitCode);
      });
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get running(): boolean {
    return this.exitCode === undefined;
  }

  output(): string {
    return this.text;
  }

  /** Output since a mark (use `mark = proc.output().length` before an action). */
  since(mark: number): string {
    return this.text.slice(mark);
  }

  /** Resolves when `test(output)` holds; rejects with the output tail if the process exits or time runs out. */
  async waitFor(test: (out: string) => boolean, what: string, timeoutMs = 30000): Promise<void> {
    const end = Date.now() + timeoutMs;
    while (!test(this.text)) {
      if (!this.running) throw new Error(`${this.opts.name} exited (${this.exitCode}) before ${what}:\n${this.tail()}`);
      if (Date.now() > end) throw new Error(`${this.opts.name}: timed out waiting for ${what}:\n${this.tail()}`);
      await sleep(50);
    }
  }

  tail(lines = 30): string {
    return this.text.split('\n').slice(-lines).join('\n');
  }

  /** Sends `signal` to the process (to its whole group when started `detached`). */
  signal(signal: NodeJS.Signals): void {
    if (!this.running || !this.child.pid) return;
    try {
      process.kill(this.opts.detached ? -this.child.pid : this.child.pid, signal);
    } catch {
      /* gone */
    }
  }

  /** SIGTERM, then SIGKILL after `graceMs`. Resolves with the exit code. Safe to call twice. */
  async stop(graceMs = 10000, signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    if (this.running && this.child.pid) {
      this.signal(signal);
      const timer = setTimeout(() => this.signal('SIGKILL'), graceMs);
      await this.exited;
      clearTimeout(timer);
    }
    return this.exited;
  }

  wait(): Promise<number | null> {
    return this.exited;
  }
}

/** Polls `url` until it answers with one of `statuses` (any HTTP answer when omitted). */
export async function waitForHttp(url: string, statuses: number[] | undefined, proc: Proc | undefined, timeoutMs = 30000): Promise<void> {
  const end = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    if (proc && !proc.running) throw new Error(`${proc.opts.name} exited (${proc.exitCode}):\n${proc.tail()}`);
    try {
      const r = await fetch(url, { signal: AbortSignal.timeout(2000) });
      await r.arrayBuffer();
      if (!statuses || statuses.includes(r.status)) return;
      last = `status ${r.status}`;
    } catch (e) {
      last = (e as Error).message;
    }
    if (Date.now() > end) throw new Error(`${url} not ready after ${timeoutMs} ms (${last})${proc ? `:\n${proc.tail()}` : ''}`);
    await sleep(100);
  }
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
  /** stdout + stderr, for assertions on a client's error text. */
  out: string;
}

/** Runs a client command to completion (killed after `timeoutMs`). */
export function run(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number; input?: string } = {}): Promise<RunResult> {
  return new Promise((ok) => {
    const child = spawn(cmd, args, { cwd: opts.cwd ?? ROOT, env: { ...process.env, ...opts.env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    // A client that exits before reading its stdin (most of them) must not turn into an uncaught EPIPE.
    child.stdin.on('error', () => undefined);
    child.stdin.end(opts.input ?? '');
    const timer = setTimeout(() => {
      stderr += `\n[e2e] killed after ${opts.timeoutMs ?? 120000} ms`;
      if (child.pid) process.kill(child.pid, 'SIGKILL');
    }, opts.timeoutMs ?? 120000);
    child.once('error', (e) => {
      clearTimeout(timer);
      ok({ code: null, stdout, stderr: `${stderr}${e.message}`, out: `${stdout}${stderr}${e.message}` });
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      ok({ code, stdout, stderr, out: stdout + stderr });
    });
  });
}
