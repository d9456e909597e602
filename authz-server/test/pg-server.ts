/**
 * A real PostgreSQL for the tests: Debian's `postgresql` binaries (initdb, postgres), its own data
 * directory in a temp dir, its own free port on 127.0.0.1, its unix socket inside the temp dir, password
 * (SCRAM) authentication. Run as the unprivileged `postgres` user when the tests run as root (the
 * server refuses root). Stopped by its PID and removed after the run.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

export const PG_USER = 'tollgate';
export const PG_PASSWORD = 'pg-test-password-7f3a91';

function binDir(): string {
  const base = '/usr/lib/postgresql';
  const env = process.env.TOLLGATE_PG_BIN;
  if (env) return env;
  const versions = existsSync(base) ? readdirSync(base).filter((v) => existsSync(join(base, v, 'bin', 'postgres'))) : [];
  const v = versions.sort((a, b) => Number(b) - Number(a))[0];
  if (!v) throw new Error('PostgreSQL server binaries not found under /usr/lib/postgresql: run scripts/install-e2e-deps.sh (Debian package postgresql)');
  return join(base, v, 'bin');
}

/** uid/gid to run the server as: ourselves, or `postgres` when we are root. */
function runAs(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const id = (flag: string) => Number(spawnSync('id', [flag, 'postgres'], { encoding: 'utf8' }).stdout.trim());
  const uid = id('-u');
  const gid = id('-g');
  if (!Number.isInteger(uid) || uid <= 0) throw new Error('running as root, and there is no unprivileged "postgres" user to run PostgreSQL as');
  return { uid, gid };
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

const running = new Set<PgServer>();
process.on('exit', () => {
  for (const s of running) s.killNow();
});

export class PgServer {
  private proc: ChildProcess | null = null;
  private dbSeq = 0;
  readonly data: string;
  readonly sockets: string;

  private constructor(
    readonly dir: string,
    readonly port: number,
    private readonly user: { uid: number; gid: number } | undefined,
  ) {
    this.data = join(dir, 'data');
    this.sockets = join(dir, 'run');
  }

  /** initdb + start. */
  static async create(): Promise<PgServer> {
    const bin = binDir();
    const user = runAs();
    const dir = mkdtempSync(join(tmpdir(), 'tollgate-pg-'));
    const s = new PgServer(dir, await freePort(), user);
    mkdirSync(s.sockets);
    const pw = join(dir, 'pw');
    writeFileSync(pw, `${PG_PASSWORD}\n`);
    if (user) for (const p of [dir, s.sockets, pw]) chownSync(p, user.uid, user.gid);
    chmodSync(dir, 0o700);
    const init = spawnSync(join(bin, 'initdb'), ['-D', s.data, '-U', PG_USER, `--pwfile=${pw}`, '--auth=scram-sha-256', '-E', 'UTF8', '--locale=C', '--no-sync'], {
      encoding: 'utf8',
      ...(user ?? {}),
    });
    if (init.status !== 0) {
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`initdb failed: ${init.stderr || init.error?.message}`);
    }
    running.add(s);
    await s.start();
    return s;
  }

  url(db = 'postgres', withPassword = true): string {
    return `postgres://${PG_USER}${withPassword ? `:${PG_PASSWORD}` : ''}@127.0.0.1:${this.port}/${db}`;
  }

  get pid(): number | undefined {
    return this.proc?.pid;
  }

  async start(): Promise<void> {
    const args = ['-D', this.data, '-p', String(this.port), '-k', this.sockets, '-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off', '-c', 'full_page_writes=off', '-c', 'max_connections=400', '-c', 'shared_buffers=32MB'];
    const proc = spawn(join(binDir(), 'postgres'), args, { stdio: ['ignore', 'ignore', 'pipe'], ...(this.user ?? {}) });
    let log = '';
    proc.stderr?.on('data', (c: Buffer) => (log = (log + c.toString()).slice(-4000)));
    this.proc = proc;
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (proc.exitCode !== null) throw new Error(`postgres exited with ${proc.exitCode}: ${log}`);
      const c = new pg.Client({ connectionString: this.url(), connectionTimeoutMillis: 1000 });
      c.on('error', () => undefined);
      try {
        await c.connect();
        await c.end();
        return;
      } catch {
        await c.end().catch(() => undefined);
        if (Date.now() > deadline) throw new Error(`postgres did not accept connections within 30 s: ${log}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  }

  /** Stops the server (fast shutdown: active sessions are disconnected), waiting for it to exit. */
  async stop(signal: NodeJS.Signals = 'SIGINT'): Promise<void> {
    const p = this.proc;
    this.proc = null;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    const exited = new Promise((r) => p.once('exit', r));
    if (p.pid) process.kill(p.pid, signal);
    await exited;
  }

  /** A fresh empty database; returns its URL. */
  async createDatabase(prefix = 't'): Promise<{ name: string; url: string }> {
    const name = `${prefix}_${process.pid}_${++this.dbSeq}`;
    await this.query(`CREATE DATABASE ${name}`);
    return { name, url: this.url(name) };
  }

  private readonly spare: string[] = [];

  /**
   * An empty migrated-or-fresh database for one test: a released one emptied (TRUNCATE, identities
   * restarted), else a new one. CREATE DATABASE costs far more than emptying the tables.
   */
  async acquireDatabase(): Promise<string> {
    return this.spare.pop() ?? (await this.createDatabase()).url;
  }

  async releaseDatabase(url: string): Promise<void> {
    const name = new URL(url).pathname.slice(1);
    // Every data table (roles, bindings, robots, the robot hash key), not the schema version.
    const tables = await this.query("SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'tollgate_schema_version'", [], name);
    const names = tables.rows.map((r: { tablename: string }) => `"${r.tablename}"`);
    if (names.length > 0) await this.query(`TRUNCATE ${names.join(', ')} RESTART IDENTITY`, [], name);
    this.spare.push(url);
  }

  /** One statement as the superuser on the maintenance database (or `db`). */
  async query(text: string, params: unknown[] = [], db = 'postgres'): Promise<pg.QueryResult> {
    const c = new pg.Client({ connectionString: this.url(db) });
    c.on('error', () => undefined);
    await c.connect();
    try {
      return await c.query(text, params);
    } finally {
      await c.end().catch(() => undefined);
    }
  }

  async destroy(): Promise<void> {
    await this.stop('SIGQUIT');
    running.delete(this);
    rmSync(this.dir, { recursive: true, force: true });
  }

  killNow(): void {
    if (this.proc?.pid && this.proc.exitCode === null) {
      try {
        process.kill(this.proc.pid, 'SIGQUIT');
      } catch {
        // already gone
      }
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

let shared: Promise<PgServer> | undefined;

/** The PostgreSQL every store test shares (one database per test); stopped by {@link stopSharedPg}. */
export function sharedPg(): Promise<PgServer> {
  shared ??= PgServer.create();
  return shared;
}

export async function stopSharedPg(): Promise<void> {
  if (shared) await (await shared).destroy();
  shared = undefined;
}
