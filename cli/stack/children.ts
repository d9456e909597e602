/**
 * Child processes of `tollgate start`: each writes to its own log file, is awaited until its
 * readiness URL answers, and is stopped by PID (SIGTERM, then SIGKILL after a grace period).
 *
 * Each runs under a small guard process (GUARD below) whose stdin is a pipe from `start`. When
 * `start` dies in a way it cannot handle — SIGKILL, the OOM killer — the kernel closes that pipe, the
 * guard sees end-of-file and stops its child (SIGTERM, SIGKILL after 10 s). Without it the servers
 * and the registry (in their own process groups, see spawnChild) kept running, holding the ports.
 * The PID `start` tracks and prints is the guard's; signals to it are passed on to the child, and it
 * exits with the child's status.
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

const GUARD = `
const { spawn } = require('node:child_process');
const { constants } = require('node:os');
const [cmd, ...args] = process.argv.slice(1);
const child = spawn(cmd, args, { stdio: ['ignore', 'inherit', 'inherit'] });
const stop = (sig) => { if (child.exitCode === null && child.signalCode === null) try { child.kill(sig); } catch {} };
for (const s of ['SIGTERM', 'SIGINT', 'SIGHUP']) process.on(s, () => stop(s === 'SIGHUP' ? 'SIGTERM' : s));
const orphaned = () => { stop('SIGTERM'); setTimeout(() => stop('SIGKILL'), 10000).unref(); };
process.stdin.on('end', orphaned);
process.stdin.on('error', orphaned);
process.stdin.resume();
child.on('error', (e) => { process.stderr.write('spawn error: ' + e.message + '\\n'); process.exit(127); });
child.on('exit', (code, sig) => process.exit(code ?? 128 + (constants.signals[sig] ?? 0)));
`;

export function spawnChild(name: string, cmd: string, args: string[], logFile: string, env: NodeJS.ProcessEnv = {}): Child {
  // 0600: logs name accounts, addresses and refused requests.
  const log = createWriteStream(logFile, { flags: 'a', mode: 0o600 });
  // Each child gets its own process group (detached): Ctrl-C in a terminal signals the whole
  // foreground group, and if the children got it too they could exit before `start` has even seen
  // the signal — which looks like a crash. So only `start` hears Ctrl-C, and it stops each child by PID.
  const proc = spawn(process.execPath, ['-e', GUARD, '--', cmd, ...args], { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'], detached: true });
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

/** Signals the child's whole process group (its guard and what the guard started); false when none is left. */
function signalGroup(pid: number, sig: NodeJS.Signals): boolean {
  try {
    process.kill(-pid, sig);
    return true;
  } catch {
    return false;
  }
}

/**
 * Stops children in reverse start order, each by its guard's PID; SIGKILL to the group after
 * `graceMs`. Afterwards each group gets a SIGTERM, for a process left behind by a guard that was
 * itself killed (it cannot pass anything on then).
 */
export async function stopAll(children: Child[], graceMs = 10000): Promise<void> {
  for (const c of [...children].reverse()) {
    const pid = c.proc.pid;
    if (!pid) continue;
    if (c.running()) {
      try {
        process.kill(pid, 'SIGTERM');
      } catch {
        /* exited meanwhile */
      }
      const timer = setTimeout(() => signalGroup(pid, 'SIGKILL'), graceMs);
      await c.exited;
      clearTimeout(timer);
    }
    signalGroup(pid, 'SIGTERM');
  }
}
