/** Test helpers: a real store on a temp SQLite file, the app behind supertest, and real server processes. */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createLogger } from '../../common/logger.js';
import type { AuthorizedRequest } from '../../common/authorized.js';
import { createApp } from '../src/app.js';
import { AuthzStore } from '../src/store/decision-cache.js';
import { PostgresStore } from '../src/store/postgres/index.js';
import { SqliteStore } from '../src/store/sqlite/index.js';
import { sharedPg, stopSharedPg } from './pg-server.js';
import type { Store } from '../src/store/store.js';
import type { Permission } from '../src/policy/permission.js';

export const ROOT = resolve(import.meta.dirname, '..', '..');
export const ADMIN = 'test-admin-token-0123456789abcdef';
export const CLIENT = 'test-client-token-0123456789abcdef';

export function tempDir(): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-authz-'));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

// Root-level hook (this module is loaded by mocha with the spec files): the shared PostgreSQL stops once, after every suite.
after(stopSharedPg);

export type Engine = 'sqlite' | 'postgres';
/** Every suite that touches the store runs once per engine. */
export const ENGINES: readonly Engine[] = ['sqlite', 'postgres'];

export interface Harness {
  engine: Engine;
  store: AuthzStore;
  app: ReturnType<typeof createApp>;
  dir: string;
  /** Runs SQL straight on the database (`?` placeholders), bypassing the store: rows "edited by hand" or read raw. */
  sql: (text: string, params?: unknown[]) => Promise<unknown[]>;
  close: () => Promise<void>;
}

/** A fresh, empty store of the given engine. */
export async function openEngine(engine: Engine, dir: string): Promise<Store> {
  if (engine === 'sqlite') return SqliteStore.open(join(dir, 'authz.db'));
  const pgs = await sharedPg();
  const url = await pgs.acquireDatabase();
  const store = await PostgresStore.open({ url });
  const close = store.close.bind(store);
  store.close = async () => (await close(), await pgs.releaseDatabase(url));
  return store;
}

/** Where a server process keeps its data: a SQLite file in `dir`, or a fresh PostgreSQL database. */
export async function dbArg(engine: Engine, dir: string): Promise<string> {
  if (engine === 'sqlite') return join(dir, 'authz.db');
  return (await (await sharedPg()).createDatabase()).url;
}

/** `?` placeholders to PostgreSQL's `$1, $2, …`. */
const numbered = (text: string): string => {
  let n = 0;
  return text.replace(/\?/g, () => `$${++n}`);
};

export async function harness(engine: Engine = 'sqlite', clock?: () => Date): Promise<Harness> {
  const { dir, cleanup } = tempDir();
  const raw = await openEngine(engine, dir);
  const store = await AuthzStore.create(raw);
  const app = createApp({ store, logger: createLogger({ name: 'authz-test', level: 'silent' }), tokens: { admin: ADMIN, client: CLIENT }, ...(clock ? { clock } : {}) });
  const sql = async (text: string, params: unknown[] = []): Promise<unknown[]> => {
    if (raw instanceof SqliteStore) {
      const st = raw.db.prepare(text);
      return st.reader ? st.all(...params) : (st.run(...params), []);
    }
    return (await (raw as PostgresStore).pool.query(numbered(text), params)).rows;
  };
  return { engine, store, app, dir, sql, close: async () => (await store.close(), cleanup()) };
}

export const admin = { Authorization: `Bearer ${ADMIN}` };
export const client = { Authorization: `Bearer ${CLIENT}` };

export function req(over: Partial<AuthorizedRequest>): AuthorizedRequest {
  return { Account: 'alice', Type: 'repository', Name: 'team-a/app', Service: 'registry', IP: '127.0.0.1', Actions: ['pull'], Labels: null, ...over };
}

export async function role(store: AuthzStore, name: string, ...permissions: Permission[]): Promise<void> {
  await store.putRole(name, permissions);
}

export async function bind(store: AuthzStore, account_name: string, role_name: string, namespace?: string): Promise<void> {
  await store.addBinding({ account_name, role_name, ...(namespace ? { namespace } : {}) });
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

/** Runs `tollgate authz serve` to completion (start-up failures), without inherited TOLLGATE_AUTHZ_* settings. */
export function runServe(args: string[], env: NodeJS.ProcessEnv = {}) {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('TOLLGATE_AUTHZ_')));
  return spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'cli', 'tollgate.ts'), 'authz', 'serve', '--listen', '127.0.0.1:0', ...args], {
    cwd: ROOT,
    env: { ...clean, NODE_OPTIONS: '', ...env },
    encoding: 'utf8',
    timeout: 20000,
  });
}
