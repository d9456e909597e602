/**
 * The PostgreSQL engine: several replicas share one database. Every write runs in a transaction that
 * also NOTIFYs what changed, so every replica's {@link ChangeListener} hears of it once it commits.
 * Failures of the database are "could not serve" (503), never a 500; refusals keep their 4xx.
 */
import pg from 'pg';
import { AuthzError, storeUnavailable } from '../../errors.js';
import type { BindingRef } from '../../policy/decide.js';
import type { Permission } from '../../policy/permission.js';
import { isAccountPattern } from '../../bindings/schema.js';
import { scopeEntryRegex } from '../../auth/principal.js';
import { bindingNotFound, importUnknownRole, roleExists, roleInUse, roleMissingForBinding, roleNotFound } from '../errors.js';
import { roleNamesOf, type State } from '../state-schema.js';
import type { ChangeRow, FeedInfo } from '../changes.js';
import type { BindingFilter, BindingRecord, ImportCounts, ImportMode, NewBinding, RoleRecord, StateRows, Store, StoreEvent } from '../store.js';
import type { RobotImport } from '../../robots/store.js';
import { clientConfig, describeConnectError, type PgOptions } from './connect.js';
import { appendChange, changesSince, feedInfo, takeAppended } from './changes.js';
import { ChangeListener, DEFAULT_LISTENER, type ListenerOptions } from './listener.js';
import { migrate } from './migrate.js';
import { PostgresRobotStore, writeRobotsImport } from './robots.js';
import { PostgresSessionStore } from './sessions.js';
import type { ApiTokenRecord } from '../../tokens/store.js';
import { PostgresTokenTable } from './tokens.js';

type Q = pg.PoolClient | pg.Pool;
interface RoleRow {
  name: string;
  permissions: string;
  created_at: string;
  updated_at: string;
}
interface BindingRow {
  id: number;
  account_name: string;
  role_name: string;
  namespace: string;
}

const ROLE_COLS = 'name, permissions, created_at, updated_at';
const BINDING_COLS = 'id, account_name, role_name, namespace';
const IMPORT_CHUNK = 5000;

const toRole = (r: RoleRow): RoleRecord => ({ ...r, permissions: JSON.parse(r.permissions) as Permission[] });
const toBinding = (r: BindingRow): BindingRecord => ({ id: r.id, account_name: r.account_name, role_name: r.role_name, namespace: r.namespace === '' ? null : r.namespace });


export interface PostgresStoreOptions extends PgOptions {
  listener?: Partial<ListenerOptions>;
  /** Where database failures are reported (they reach clients only as 503). */
  onError?: (message: string) => void;
}

export class PostgresStore implements Store {
  readonly engine = 'postgres' as const;
  private readonly listeners: Array<(e: StoreEvent) => void> = [];
  private readonly feed: ChangeListener;
  readonly robots: PostgresRobotStore;
  readonly sessions: PostgresSessionStore;
  private readonly tokens: PostgresTokenTable;

  private constructor(
    readonly pool: pg.Pool,
    config: pg.ClientConfig,
    private readonly opts: PostgresStoreOptions,
  ) {
    this.feed = new ChangeListener({ ...config, application_name: 'tollgate-authz-listen' }, (e) => this.emit(e), {
      ...DEFAULT_LISTENER,
      ...opts.listener,
      ...(opts.onError ? { onError: opts.onError } : {}),
    });
    this.robots = new PostgresRobotStore(this);
    this.tokens = new PostgresTokenTable(this);
    this.sessions = new PostgresSessionStore(this);
  }

  /** Connects, migrates under the advisory lock, starts LISTENing. Errors are one line, password-free. */
  static async open(opts: PostgresStoreOptions): Promise<PostgresStore> {
    const config = clientConfig(opts, 'tollgate-authz');
    const pool = new pg.Pool({ ...config, max: opts.poolSize ?? 10, idleTimeoutMillis: 30_000 });
    // An idle connection dropped by the server must not crash the process; the next query reconnects.
    pool.on('error', (e) => opts.onError?.(`idle PostgreSQL connection failed: ${e.message}`));
    const store = new PostgresStore(pool, config, opts);
    try {
      await migrate(pool);
      await store.feed.start();
    } catch (e) {
      await store.close();
      if (e instanceof Error && /tollgate|schema version/.test(e.message) && !(e as { code?: string }).code) throw e;
      throw new Error(describeConnectError(e, opts.url));
    }
    return store;
  }

  get inSync(): boolean {
    return this.feed.inSync;
  }

  subscribe(listener: (e: StoreEvent) => void): void {
    this.listeners.push(listener);
  }

  private emit(e: StoreEvent): void {
    for (const l of this.listeners) l(e);
  }

  async close(): Promise<void> {
    await this.feed.stop();
    await this.pool.end().catch(() => undefined);
  }

  /** Runs `fn` on the pool; a database failure becomes 503 (reported once through onError). Also used by the robot store. */
  async run<T>(what: string, fn: (q: Q) => Promise<T>): Promise<T> {
    try {
      return await fn(this.pool);
    } catch (e) {
      throw this.failure(what, e);
    }
  }

  private failure(what: string, e: unknown): Error {
    if (e instanceof AuthzError) return e;
    this.opts.onError?.(`${what} failed: ${(e as Error).message}`);
    return storeUnavailable('the database did not answer');
  }

  /** `fn` in one transaction on one connection; failures as in `run`. Also used by the robot store. */
  async tx<T>(what: string, fn: (c: pg.PoolClient) => Promise<T>, isolation = ''): Promise<T> {
    let c: pg.PoolClient;
    try {
      c = await this.pool.connect();
    } catch (e) {
      throw this.failure(what, e);
    }
    let broken = false;
    // A checked-out client has no pool listener: without this, a connection lost mid-transaction
    // would be an 'error' event nobody handles, and the process would crash.
    const onError = () => (broken = true);
    c.on('error', onError);
    let out: T;
    let changed = false;
    try {
      await c.query(`BEGIN${isolation}`);
      out = await fn(c);
      await c.query('COMMIT');
      changed = takeAppended(c);
    } catch (e) {
      broken = !(e instanceof AuthzError);
      await c.query('ROLLBACK').catch(() => undefined);
      throw this.failure(what, e);
    } finally {
      takeAppended(c);
      c.off('error', onError);
      c.release(broken);
    }
    // The one place a committed change tells this replica to read the log now, whatever route, CLI or
    // import made it; after the transaction, so nothing a listener does can turn a commit into a failure.
    if (changed) this.emit({ kind: 'hint' });
    return out;
  }

  async ping(): Promise<boolean> {
    try {
      const { rows } = await this.pool.query<{ ok: number }>('SELECT 1 AS ok');
      return rows[0]?.ok === 1;
    } catch {
      return false;
    }
  }

  createApiToken(t: ApiTokenRecord): Promise<boolean> {
    return this.tokens.createApiToken(t);
  }

  listApiTokens(): Promise<ApiTokenRecord[]> {
    return this.tokens.listApiTokens();
  }

  deleteApiToken(name: string): Promise<boolean> {
    return this.tokens.deleteApiToken(name);
  }

  apiTokenByHash(hash: string): Promise<ApiTokenRecord | undefined> {
    return this.tokens.apiTokenByHash(hash);
  }

  touchApiToken(id: string, at: string): Promise<void> {
    return this.tokens.touchApiToken(id, at);
  }

  getRole(name: string): Promise<RoleRecord | undefined> {
    return this.run('get role', async (q) => {
      const { rows } = await q.query<RoleRow>(`SELECT ${ROLE_COLS} FROM roles WHERE name = $1`, [name]);
      return rows[0] ? toRole(rows[0]) : undefined;
    });
  }

  listRoles(): Promise<RoleRecord[]> {
    return this.run('list roles', async (q) => (await q.query<RoleRow>(`SELECT ${ROLE_COLS} FROM roles ORDER BY name`)).rows.map(toRole));
  }

  countRoles(): Promise<number> {
    return this.run('count roles', async (q) => (await q.query<{ n: number }>('SELECT count(*) AS n FROM roles')).rows[0]?.n ?? 0);
  }

  putRole(name: string, permissions: Permission[], ts: string, createOnly = false): Promise<{ created: boolean }> {
    return this.tx('put role', async (c) => {
      const onConflict = createOnly ? 'DO NOTHING' : 'DO UPDATE SET permissions = excluded.permissions, updated_at = excluded.updated_at';
      const { rows } = await c.query<{ created: boolean }>(
        `INSERT INTO roles (${ROLE_COLS}) VALUES ($1, $2, $3, $3)
         ON CONFLICT (name) ${onConflict}
         RETURNING (xmax = 0) AS created`,
        [name, JSON.stringify(permissions), ts],
      );
      // DO NOTHING returns no row: the role exists (a concurrent create waited for the other's commit).
      if (createOnly && rows.length === 0) throw roleExists(name);
      await appendChange(c, 'role', name);
      return { created: rows[0]?.created === true };
    });
  }

  deleteRole(name: string, force: boolean): Promise<{ deleted_bindings: number }> {
    return this.tx('delete role', async (c) => {
      // The row lock makes a concurrent binding insert for this role wait (foreign key check), then fail.
      const found = await c.query('SELECT 1 FROM roles WHERE name = $1 FOR UPDATE', [name]);
      if (found.rowCount === 0) throw roleNotFound(name);
      const used = (await c.query<{ n: number }>('SELECT count(*) AS n FROM bindings WHERE role_name = $1', [name])).rows[0]?.n ?? 0;
      if (used > 0 && !force) throw roleInUse(name, used);
      const deleted = used > 0 ? ((await c.query('DELETE FROM bindings WHERE role_name = $1', [name])).rowCount ?? 0) : 0;
      await c.query('DELETE FROM roles WHERE name = $1', [name]);
      await appendChange(c, 'role', name);
      return { deleted_bindings: deleted };
    });
  }

  addBinding(b: NewBinding): Promise<{ created: boolean; binding: BindingRecord }> {
    return this.tx('add binding', async (c) => {
      const ns = b.namespace ?? '';
      const role = await c.query('SELECT 1 FROM roles WHERE name = $1 FOR KEY SHARE', [b.role_name]);
      if (role.rowCount === 0) throw roleMissingForBinding(b.role_name);
      const ins = await c.query<BindingRow>(
        `INSERT INTO bindings (account_name, role_name, namespace, is_pattern) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING RETURNING ${BINDING_COLS}`,
        [b.account_name, b.role_name, ns, b.is_pattern ? 1 : 0],
      );
      if (ins.rows[0]) {
        await appendChange(c, 'binding', b.account_name);
        return { created: true, binding: toBinding(ins.rows[0]) };
      }
      const found = await c.query<BindingRow>(`SELECT ${BINDING_COLS} FROM bindings WHERE account_name = $1 AND role_name = $2 AND namespace = $3`, [
        b.account_name,
        b.role_name,
        ns,
      ]);
      if (!found.rows[0]) throw new Error('binding insert neither inserted nor found');
      return { created: false, binding: toBinding(found.rows[0]) };
    });
  }

  deleteBinding(account: string, role: string, namespace: string | null): Promise<BindingRecord> {
    return this.tx('delete binding', async (c) => {
      const del = await c.query<BindingRow>(`DELETE FROM bindings WHERE account_name = $1 AND role_name = $2 AND namespace = $3 RETURNING ${BINDING_COLS}`, [
        account,
        role,
        namespace ?? '',
      ]);
      if (del.rows[0]) {
        await appendChange(c, 'binding', account);
        return toBinding(del.rows[0]);
      }
      if ((await c.query('SELECT 1 FROM roles WHERE name = $1', [role])).rowCount === 0) throw roleNotFound(role, 'role_name');
      throw bindingNotFound(account, role, namespace);
    });
  }

  bindingsForAccount(account: string): Promise<BindingRef[]> {
    return this.run('read bindings', async (q) => {
      const { rows } = await q.query<[string, string]>({
        name: 'bindings-for-account',
        text: 'SELECT role_name, namespace FROM bindings WHERE account_name = $1',
        values: [account],
        rowMode: 'array',
      });
      return rows.map(([role_name, namespace]) => ({ account_name: account, role_name, namespace: namespace === '' ? null : namespace }));
    });
  }

  feedInfo(): Promise<FeedInfo> {
    return this.run('read the change log', (q) => feedInfo(q));
  }

  changesSince(rev: number, limit: number): Promise<ChangeRow[]> {
    return this.run('read the change log', (q) => changesSince(q, rev, limit));
  }

  patternBindings(): Promise<BindingRecord[]> {
    return this.run('read pattern bindings', async (q) => (await q.query<BindingRow>(`SELECT ${BINDING_COLS} FROM bindings WHERE is_pattern = 1`)).rows.map(toBinding));
  }

  countBindings(): Promise<number> {
    return this.run('count bindings', async (q) => (await q.query<{ n: number }>('SELECT count(*) AS n FROM bindings')).rows[0]?.n ?? 0);
  }

  countBindingsForRole(role: string): Promise<number> {
    return this.run('count bindings', async (q) => (await q.query<{ n: number }>('SELECT count(*) AS n FROM bindings WHERE role_name = $1', [role])).rows[0]?.n ?? 0);
  }

  listBindings(f: BindingFilter): Promise<{ bindings: BindingRecord[]; next: number | null }> {
    const where: string[] = ['id > $1'];
    const args: Array<string | number | string[]> = [f.after ?? 0];
    const add = (col: string, v: string | undefined) => {
      if (v === undefined) return;
      args.push(v);
      where.push(`${col} = $${args.length}`);
    };
    add('account_name', f.account);
    add('role_name', f.role);
    add('namespace', f.namespace);
    if (f.contains) {
      args.push(f.contains);
      const n = `$${args.length}`;
      where.push(`(strpos(account_name, ${n}) > 0 OR strpos(role_name, ${n}) > 0 OR strpos(namespace, ${n}) > 0)`);
    }
    if (f.scope) {
      // The same meaning as auth/principal.ts scopeCovers, as regular expressions; '' (no namespace) never matches.
      args.push(f.scope.map(scopeEntryRegex));
      where.push(`namespace ~ ANY ($${args.length}::text[])`);
    }
    args.push(f.limit + 1);
    return this.run('list bindings', async (q) => {
      const { rows } = await q.query<BindingRow>(`SELECT ${BINDING_COLS} FROM bindings WHERE ${where.join(' AND ')} ORDER BY id LIMIT $${args.length}`, args);
      const more = rows.length > f.limit;
      const page = rows.slice(0, f.limit).map(toBinding);
      return { bindings: page, next: more ? (page[page.length - 1]?.id ?? null) : null };
    });
  }

  exportRows(): Promise<StateRows> {
    return this.tx(
      'export',
      async (c) => {
        const roles = (await c.query<RoleRow>(`SELECT ${ROLE_COLS} FROM roles ORDER BY name`)).rows;
        const bindings = (await c.query<BindingRow>(`SELECT ${BINDING_COLS} FROM bindings ORDER BY id`)).rows;
        return {
          roles: roles.map((r) => ({ name: r.name, permissions: JSON.parse(r.permissions) as Permission[] })),
          bindings: bindings.map((b) => ({ account_name: b.account_name, role_name: b.role_name, ...(b.namespace !== '' ? { namespace: b.namespace } : {}) })),
        };
      },
      ' ISOLATION LEVEL REPEATABLE READ READ ONLY',
    );
  }

  importState(state: State, mode: ImportMode, ts: string, robots?: RobotImport): Promise<ImportCounts> {
    const names = roleNamesOf(state);
    return this.tx('import', async (c) => {
      // A big file may take longer than one ordinary statement may.
      await c.query("SET LOCAL statement_timeout = '300s'");
      // Robots first: their 409 (a key changed since the route checked) comes before any other write.
      const robotCount = robots ? { robots: await writeRobotsImport(c, robots, mode) } : {};
      if (mode === 'replace') await c.query('DELETE FROM bindings; DELETE FROM roles;');
      for (const r of state.roles) {
        await c.query(
          `INSERT INTO roles (${ROLE_COLS}) VALUES ($1, $2, $3, $3) ON CONFLICT (name) DO UPDATE SET permissions = excluded.permissions, updated_at = excluded.updated_at`,
          [r.name, JSON.stringify(r.permissions), ts],
        );
      }
      const outside = [...new Set(state.bindings.map((b) => b.role_name).filter((n) => !names.has(n)))];
      if (outside.length > 0) {
        const known = new Set((await c.query<{ name: string }>('SELECT name FROM roles WHERE name = ANY($1)', [outside])).rows.map((r) => r.name));
        const i = state.bindings.findIndex((b) => !names.has(b.role_name) && !known.has(b.role_name));
        const bad = state.bindings[i];
        if (bad) throw importUnknownRole(bad.role_name, i);
      }
      let added = 0;
      for (let i = 0; i < state.bindings.length; i += IMPORT_CHUNK) {
        const chunk = state.bindings.slice(i, i + IMPORT_CHUNK);
        const res = await c.query(
          `INSERT INTO bindings (account_name, role_name, namespace, is_pattern)
           SELECT a, r, n, p FROM unnest($1::text[], $2::text[], $3::text[], $4::smallint[]) WITH ORDINALITY AS t(a, r, n, p, o) ORDER BY o
           ON CONFLICT DO NOTHING`,
          [chunk.map((b) => b.account_name), chunk.map((b) => b.role_name), chunk.map((b) => b.namespace ?? ''), chunk.map((b) => (isAccountPattern(b.account_name) ? 1 : 0))],
        );
        added += res.rowCount ?? 0;
      }
      await appendChange(c, 'import');
      return { roles: state.roles.length, bindings: added, ...robotCount };
    });
  }
}
