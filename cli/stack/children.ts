/**
 * Child processes of `tollgate start`: each writes to its own log file, is awaited until its
 * readiness URL answers, and is stopped by PID (SIGTERM, then SIGKILL after a grace period).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, readFileSync } from 'node:fs';

export interface Child {
  name: string;
  proc: ChildProcess;
  logFile: string;
  /** Resolves with the exit code (or -1 when killed by a signal) once the process is gone. */
  exited: Promise<number>;
  running(): boolean;
}

export function spawnChild(name: string, cmd: string, args: string[], logFile: string, env: NodeJS.ProcessEnv = {}): Child {
  const log = createWriteStream(logFile, { flags: 'a' });
  // Each child gets its own process group (detached): Ctrl-C in a terminal signals the whole
  // foreground group, and if the children got it too they could exit before `start` has even seen
  // the signal — which looks like a crash. So only `start` hears Ctrl-C, and it stops each child by PID.
  const proc = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  proc.stdout?.pipe(log, { end: false });
  proc.stderr?.pipe(log, { end: false });
  let alive = true;
  const exited = new Promise<number>((resolve) => {
    proc.once('error', (e) => {
      alive = false;
      log.write(`spawn error: ${e.message}\n`);
      resolve(127);
    });
    proc.once('exit', (code) => {
      alive = false;
      resolve(code ?? -1);
    });
  });
  return { name, proc, logFile, exited, running: () => alive };
}

export function logTail(file: string, lines = 15): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/** Polls `url` until it answers with one of `statuses`; fails early if the child exits. */
export async function waitReady(child: Child, url: string, statuses: number[], timeoutMs = 30000): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (!child.running()) throw new Error(`${child.name} exited before it was ready:\n${logTail(child.logFile)}`);
    try {
      const r = await fetch(url, { signal: AbortSignal.timeout(2000) });
      await r.arrayBuffer();
      if (statuses.includes(r.status)) return;
    } catch {
      /* not listening yet */
    }
    if (Date.now() > end) throw new Error(`${child.name} not ready at ${url} after ${timeoutMs} ms:\n${logTail(child.logFile)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Last resort when `start` itself exits without having stopped them (uncaught error): SIGTERM each by PID. */
export function signalAllSync(children: Child[]): void {
  for (const c of children) {
    if (!c.running() || !c.proc.pid) continue;
    try {
      process.kill(c.proc.pid, 'SIGTERM');
    } catch {
      /* gone */
    }
  }
}

/** Stops children in reverse start order, each by PID; SIGKILL after `graceMs`. */
export async function stopAll(children: Child[], graceMs = 10000): Promise<void> {
  for (const c of [...children].reverse()) {
    if (!c.running() || !c.proc.pid) continue;
    try {
      process.kill(c.proc.pid, 'SIGTERM');
    } catch {
      continue;
    }
    const timer = setTimeout(() => {
      try {
        if (c.proc.pid) process.kill(c.proc.pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }, graceMs);
    await c.exited;
    clearTimeout(timer);
  }
}
