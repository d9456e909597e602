/** Test helpers: a real store on a temp SQLite file, the app behind supertest, and real server processes. */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createLogger } from '../../common/logger.js';
import type { AuthorizedRequest } from '../../common/authorized.js';
import { createApp } from '../src/app.js';
import { Store } from '../src/store/index.js';
import type { Permission } from '../src/policy/permission.js';

export const ROOT = resolve(import.meta.dirname, '..', '..');
export const ADMIN = 'test-admin-token-0123456789abcdef';
export const CLIENT = 'test-client-token-0123456789abcdef';

export function tempDir(): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-authz-'));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface Harness {
  store: Store;
  app: ReturnType<typeof createApp>;
  dir: string;
  close: () => void;
}

export function harness(): Harness {
  const { dir, cleanup } = tempDir();
  const store = Store.open(join(dir, 'authz.db'));
  const app = createApp({ store, logger: createLogger({ name: 'authz-test', level: 'silent' }), tokens: { admin: ADMIN, client: CLIENT } });
  return { store, app, dir, close: () => (store.close(), cleanup()) };
}

export const admin = { Authorization: `Bearer ${ADMIN}` };
export const client = { Authorization: `Bearer ${CLIENT}` };

export function req(over: Partial<AuthorizedRequest>): AuthorizedRequest {
  return { Account: 'alice', Type: 'repository', Name: 'team-a/app', Service: 'registry', IP: '127.0.0.1', Actions: ['pull'], Labels: null, ...over };
}

export function role(store: Store, name: string, ...permissions: Permission[]): void {
  store.putRole(name, permissions);
}

export function bind(store: Store, account_name: string, role_name: string, namespace?: string): void {
  store.addBinding({ account_name, role_name, ...(namespace ? { namespace } : {}) });
}

export interface ServerProcess {
  url: string;
  proc: ChildProcess;
  pid: number;
  output: () => string;
  stop: (signal?: NodeJS.Signals) => Promise<number | null>;
}

/** Spawns the real `tollgate authz serve` and waits for its `listening` log line. */
export function spawnServer(args: string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 20000): Promise<ServerProcess> {
  const proc = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'cli', 'tollgate.ts'), 'authz', 'serve', '--listen', '127.0.0.1:0', ...args], {
    cwd: ROOT,
    env: { ...process.env, NODE_OPTIONS: '', TOLLGATE_LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const exited = new Promise<number | null>((res) => proc.once('exit', (code) => res(code)));
  const stop = async (signal: NodeJS.Signals = 'SIGTERM') => {
    if (proc.exitCode === null && proc.signalCode === null && proc.pid) process.kill(proc.pid, signal);
    return exited;
  };
  return new Promise((resolvePromise, reject) => {
    const timer = setTimeout(() => {
      void stop('SIGKILL');
      reject(new Error(`server did not start in time:\n${out}`));
    }, timeoutMs);
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      const m = /"url":"(http:[^"]+)"[^\n]*"msg":"listening"|"msg":"listening"[^\n]*"url":"(http:[^"]+)"/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolvePromise({ url: (m[1] ?? m[2]) as string, proc, pid: proc.pid as number, output: () => out, stop });
      }
    };
    proc.stdout?.on('data', onData);
    proc.stderr?.on('data', onData);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code}:\n${out}`));
    });
  });
}

/** Writes admin/client token files into dir. */
export function tokenFiles(dir: string): { admin: string; client: string } {
  const a = join(dir, 'admin.token');
  const c = join(dir, 'client.token');
  writeFileSync(a, `${ADMIN}\n`);
  writeFileSync(c, `${CLIENT}\n`);
  return { admin: a, client: c };
}
