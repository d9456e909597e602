/**
 * The SQLite engine: one file owned by one process (WAL, synchronous=FULL). better-sqlite3 is
 * synchronous; the methods are async only to fit the {@link Store} seam. Its only event is `hint`, after
 * a write that appended to the change log committed: nothing else writes the file while the server runs.
 */
import type { Permission } from '../../policy/permission.js';
import { isAccountPattern } from '../../bindings/schema.js';
import { bindingNotFound, importUnknownRole, roleExists, roleInUse, roleMissingForBinding, roleNotFound } from '../errors.js';
import { roleNamesOf, type State } from '../state-schema.js';
import type { BindingFilter, ImportCounts, ImportMode, NewBinding, RoleRecord, StateRows, Store, StoreEvent } from '../store.js';
import type { RobotImport } from '../../robots/store.js';
import { SqliteRobotStore } from './robots.js';
import { SqliteSessionStore } from './sessions.js';
import { BindingTable } from './bindings.js';
import { SqliteChanges } from './changes.js';
import { openDatabase, type Db } from './db.js';
import { TokenTable } from './tokens.js';
import type { ApiTokenRecord } from '../../tokens/store.js';

interface RoleRow {
  name: string;
  permissions: string;
  created_at: string;
  updated_at: string;
}

const toRecord = (r: RoleRow): RoleRecord => ({ ...r, permissions: JSON.parse(r.permissions) as Permission[] });

export class SqliteStore implements Store {
  readonly engine = 'sqlite' as const;
  readonly inSync = true;
  readonly bindings: BindingTable;
  readonly robots: SqliteRobotStore;
  readonly sessions: SqliteSessionStore;
  private readonly tokens: TokenTable;
  /** The change log (store/changes.ts): every write below appends to it in its own transaction. */
  readonly changes: SqliteChanges;
  private readonly q;
  private readonly listeners: Array<(e: StoreEvent) => void> = [];

  constructor(readonly db: Db) {
    this.bindings = new BindingTable(db);
    this.changes = new SqliteChanges(db, () => {
      if (this.db.open) for (const l of this.listeners) l({ kind: 'hint' });
    });
    this.robots = new SqliteRobotStore(db, this.changes);
    this.tokens = new TokenTable(db);
    this.sessions = new SqliteSessionStore(db);
    this.q = {
      getRole: db.prepare<[string], RoleRow>('SELECT name, permissions, created_at, updated_at FROM roles WHERE name = ?'),
      listRoles: db.prepare<[], RoleRow>('SELECT name, permissions, created_at, updated_at FROM roles ORDER BY name'),
      insertRole: db.prepare('INSERT INTO roles (name, permissions, created_at, updated_at) VALUES (?, ?, ?, ?)'),
      createRole: db.prepare('INSERT INTO roles (name, permissions, created_at, updated_at) VALUES (?, ?, ?, ?) ON CONFLICT (name) DO NOTHING'),
      updateRole: db.prepare('UPDATE roles SET permissions = ?, updated_at = ? WHERE name = ?'),
      deleteRole: db.prepare('DELETE FROM roles WHERE name = ?'),
      countRoles: db.prepare<[], { n: number }>('SELECT count(*) AS n FROM roles'),
      ping: db.prepare<[], { ok: number }>('SELECT 1 AS ok'),
      upsertRole: db.prepare(
        'INSERT INTO roles (name, permissions, created_at, updated_at) VALUES (?, ?, ?, ?) ON CONFLICT(name) DO UPDATE SET permissions = excluded.permissions, updated_at = excluded.updated_at',
      ),
      insertBinding: db.prepare('INSERT INTO bindings (account_name, role_name, namespace, is_pattern) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING'),
    };
  }

  static open(file: string): SqliteStore {
    return new SqliteStore(openDatabase(file));
  }

  subscribe(listener: (e: StoreEvent) => void): void {
    this.listeners.push(listener);
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }

  async ping(): Promise<boolean> {
    return this.q.ping.get()?.ok === 1;
  }

  // Token writes are changes on the feed (issue 22), appended in the same transaction.
  async createApiToken(t: ApiTokenRecord): Promise<boolean> {
    return this.db.transaction(() => {
      const created = this.tokens.insert(t);
      if (created) this.changes.append('token', t.name);
      return created;
    })();
  }

  listApiTokens(): Promise<ApiTokenRecord[]> {
    return this.tokens.listApiTokens();
  }

  async deleteApiToken(name: string): Promise<boolean> {
    return this.db.transaction(() => {
      const removed = this.tokens.remove(name);
      if (removed) this.changes.append('token', name);
      return removed;
    })();
  }

  apiTokenByHash(hash: string): Promise<ApiTokenRecord | undefined> {
    return this.tokens.apiTokenByHash(hash);
  }

  touchApiToken(id: string, at: string): Promise<void> {
    return this.tokens.touchApiToken(id, at);
  }

  async getRole(name: string): Promise<RoleRecord | undefined> {
    const row = this.q.getRole.get(name);
    return row ? toRecord(row) : undefined;
  }

  async listRoles(): Promise<RoleRecord[]> {
    return this.q.listRoles.all().map(toRecord);
  }

  async countRoles(): Promise<number> {
    return this.q.countRoles.get()?.n ?? 0;
  }

  async putRole(name: string, permissions: Permission[], ts: string, createOnly = false): Promise<{ created: boolean }> {
    const json = JSON.stringify(permissions);
    const created = this.db.transaction(() => {
      if (createOnly) {
        if (this.q.createRole.run(name, json, ts, ts).changes === 0) throw roleExists(name);
        this.changes.append('role', name);
        return true;
      }
      this.changes.append('role', name);
      if (this.q.updateRole.run(json, ts, name).changes === 1) return false;
      this.q.insertRole.run(name, json, ts, ts);
      return true;
    })();
    return { created };
  }

  async deleteRole(name: string, force: boolean): Promise<{ deleted_bindings: number }> {
    const deleted = this.db.transaction(() => {
      if (!this.q.getRole.get(name)) throw roleNotFound(name);
      const used = this.bindings.countForRole(name);
      if (used > 0 && !force) throw roleInUse(name, used);
      const n = used > 0 ? this.bindings.deleteForRole(name) : 0;
      this.q.deleteRole.run(name);
      this.changes.append('role', name);
      return n;
    })();
    return { deleted_bindings: deleted };
  }

  async addBinding(b: NewBinding) {
    return this.db.transaction(() => {
      if (!this.q.getRole.get(b.role_name)) throw roleMissingForBinding(b.role_name);
      const out = this.bindings.insert(b.account_name, b.role_name, b.namespace, b.is_pattern);
      if (out.created) this.changes.append('binding', b.account_name);
      return out;
    })();
  }

  async deleteBinding(account: string, role: string, namespace: string | null) {
    const rec = this.db.transaction(() => {
      const removed = this.bindings.remove(account, role, namespace);
      if (removed) this.changes.append('binding', account);
      return removed;
    })();
    if (rec) return rec;
    if (!this.q.getRole.get(role)) throw roleNotFound(role, 'role_name');
    throw bindingNotFound(account, role, namespace);
  }

  async bindingsForAccount(account: string) {
    return this.bindings.forAccount(account);
  }

  /** The same lookup without a promise: SQLite answers synchronously (decision-cache.ts's cold path). */
  bindingsForAccountSync(account: string) {
    return this.bindings.forAccount(account);
  }

  feedInfo() {
    return this.changes.feedInfo();
  }

  changesSince(rev: number, limit: number) {
    return this.changes.changesSince(rev, limit);
  }

  async patternBindings() {
    return this.bindings.patterns();
  }

  async countBindings(): Promise<number> {
    return this.bindings.count();
  }

  async countBindingsForRole(role: string): Promise<number> {
    return this.bindings.countForRole(role);
  }

  async listBindings(f: BindingFilter) {
    return this.bindings.list(f);
  }

  async exportRows(): Promise<StateRows> {
    return this.db.transaction(() => ({
      roles: this.q.listRoles.all().map((r) => ({ name: r.name, permissions: JSON.parse(r.permissions) as Permission[] })),
      bindings: this.bindings.all().map((b) => ({ account_name: b.account_name, role_name: b.role_name, ...(b.namespace !== null ? { namespace: b.namespace } : {}) })),
    }))();
  }

  async importState(state: State, mode: ImportMode, ts: string, robots?: RobotImport): Promise<ImportCounts> {
    const names = roleNamesOf(state);
    const counts = this.db.transaction((): ImportCounts => {
      // Robots first: their 409 (a key changed since the route checked) comes before any other write.
      const robotCount = robots ? { robots: this.robots.writeImport(robots, mode) } : {};
      if (mode === 'replace') this.db.exec('DELETE FROM bindings; DELETE FROM roles;');
      for (const r of state.roles) this.q.upsertRole.run(r.name, JSON.stringify(r.permissions), ts, ts);
      let added = 0;
      state.bindings.forEach((b, i) => {
        if (!names.has(b.role_name) && !this.q.getRole.get(b.role_name)) throw importUnknownRole(b.role_name, i);
        added += this.q.insertBinding.run(b.account_name, b.role_name, b.namespace ?? '', isAccountPattern(b.account_name) ? 1 : 0).changes;
      });
      this.changes.append('import');
      return { roles: state.roles.length, bindings: added, ...robotCount };
    })();
    if (robots) this.robots.imported(robots.key);
    return counts;
  }
}
