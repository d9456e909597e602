/**
 * The authz store: roles and bindings in SQLite, plus the in-memory caches a decision needs
 * (compiled roles, compiled pattern bindings), refreshed on every write made through this object.
 * One server process owns a database file (writes from elsewhere are not seen by the caches).
 */
import type { AuthorizedRequest, AuthorizedResponse } from '../../../common/authorized.js';
import { AuthzError } from '../errors.js';
import { decide, explain, type BindingRef, type CompiledRole, type ExplainResult } from '../policy/decide.js';
import { parseTemplate, type Matcher } from '../policy/pattern.js';
import { compilePermission, type Permission } from '../policy/permission.js';
import { ANONYMOUS, isAccountPattern, type BindingInput } from '../bindings/schema.js';
import { openDatabase, type Db } from './db.js';
import { BindingTable, type BindingFilter, type BindingRecord } from './bindings.js';

export type { BindingRecord, BindingFilter };

export interface RoleRecord {
  name: string;
  permissions: Permission[];
  created_at: string;
  updated_at: string;
}

interface RoleRow {
  name: string;
  permissions: string;
  created_at: string;
  updated_at: string;
}

const ACCOUNT_CACHE_MAX = 20_000;

const toRecord = (r: RoleRow): RoleRecord => ({ ...r, permissions: JSON.parse(r.permissions) as Permission[] });

export class Store {
  readonly bindings: BindingTable;
  private readonly roleCache = new Map<string, CompiledRole>();
  private patternCache: Array<{ ref: BindingRef; match: Matcher }> | null = null;
  /** Exact bindings of recently seen accounts; an entry is dropped whenever that account's bindings change. */
  private readonly accountCache = new Map<string, readonly BindingRef[]>();
  private readonly q;

  constructor(
    readonly db: Db,
    private readonly now: () => Date = () => new Date(),
  ) {
    this.bindings = new BindingTable(db);
    this.q = {
      getRole: db.prepare<[string], RoleRow>('SELECT name, permissions, created_at, updated_at FROM roles WHERE name = ?'),
      listRoles: db.prepare<[], RoleRow>('SELECT name, permissions, created_at, updated_at FROM roles ORDER BY name'),
      insertRole: db.prepare('INSERT INTO roles (name, permissions, created_at, updated_at) VALUES (?, ?, ?, ?)'),
      updateRole: db.prepare('UPDATE roles SET permissions = ?, updated_at = ? WHERE name = ?'),
      deleteRole: db.prepare('DELETE FROM roles WHERE name = ?'),
      countRoles: db.prepare<[], { n: number }>('SELECT count(*) AS n FROM roles'),
      ping: db.prepare<[], { ok: number }>('SELECT 1 AS ok'),
    };
    this.reloadRoles();
  }

  static open(file: string, now?: () => Date): Store {
    return new Store(openDatabase(file), now);
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  /** Readiness: the database answers a query. */
  ping(): boolean {
    return this.q.ping.get()?.ok === 1;
  }

  // ---- roles -------------------------------------------------------------------------------

  getRole(name: string): RoleRecord | undefined {
    const row = this.q.getRole.get(name);
    return row ? toRecord(row) : undefined;
  }

  listRoles(): RoleRecord[] {
    return this.q.listRoles.all().map(toRecord);
  }

  countRoles(): number {
    return this.q.countRoles.get()?.n ?? 0;
  }

  /** Creates or replaces a role (its permissions are overwritten). */
  putRole(name: string, permissions: Permission[]): { created: boolean } {
    const json = JSON.stringify(permissions);
    const ts = this.now().toISOString();
    const created = this.db.transaction(() => {
      if (this.q.updateRole.run(json, ts, name).changes === 1) return false;
      this.q.insertRole.run(name, json, ts, ts);
      return true;
    })();
    this.cacheRole(name, permissions);
    return { created };
  }

  /** Deletes a role; refuses (409) while bindings use it unless `force`, which deletes them too. */
  deleteRole(name: string, force: boolean): { deleted_bindings: number } {
    const deleted = this.db.transaction(() => {
      if (!this.q.getRole.get(name)) throw new AuthzError(404, 'role_not_found', `role "${name}" does not exist`, 'name');
      const used = this.bindings.countForRole(name);
      if (used > 0 && !force) {
        throw new AuthzError(409, 'role_in_use', `role "${name}" is used by ${used} binding(s); delete them first or pass force: true`, 'name');
      }
      const n = used > 0 ? this.bindings.deleteForRole(name) : 0;
      this.q.deleteRole.run(name);
      return n;
    })();
    this.roleCache.delete(name);
    if (deleted > 0) this.dropBindingCaches();
    return { deleted_bindings: deleted };
  }

  private cacheRole(name: string, permissions: Permission[]): void {
    this.roleCache.set(name, { name, permissions: permissions.map(compilePermission) });
  }

  /** Reloads every compiled role from the database (start, import). */
  reloadRoles(): void {
    this.roleCache.clear();
    for (const r of this.listRoles()) {
      // A row that no longer compiles (edited by hand) grants nothing: fail closed.
      try {
        this.cacheRole(r.name, r.permissions);
      } catch {
        continue;
      }
    }
    this.dropBindingCaches();
  }

  private dropBindingCaches(): void {
    this.patternCache = null;
    this.accountCache.clear();
  }

  role = (name: string): CompiledRole | undefined => this.roleCache.get(name);

  // ---- bindings ----------------------------------------------------------------------------

  addBinding(b: BindingInput): { created: boolean; binding: BindingRecord } {
    const ns = b.namespace ?? null;
    const res = this.db.transaction(() => {
      if (!this.q.getRole.get(b.role_name)) {
        throw new AuthzError(404, 'role_not_found', `role "${b.role_name}" does not exist; create it first (POST /add-role)`, 'role_name');
      }
      return this.bindings.insert(b.account_name, b.role_name, ns, isAccountPattern(b.account_name));
    })();
    if (res.created) this.bindingChanged(b.account_name);
    return res;
  }

  deleteBinding(b: BindingInput): BindingRecord {
    const rec = this.bindings.remove(b.account_name, b.role_name, b.namespace ?? null);
    if (!rec) {
      if (!this.q.getRole.get(b.role_name)) throw new AuthzError(404, 'role_not_found', `role "${b.role_name}" does not exist`, 'role_name');
      const ns = b.namespace ? ` in namespace "${b.namespace}"` : ' without namespace';
      throw new AuthzError(404, 'binding_not_found', `no binding of "${b.account_name}" to role "${b.role_name}"${ns}`, 'account_name');
    }
    this.bindingChanged(b.account_name);
    return rec;
  }

  private bindingChanged(account: string): void {
    if (isAccountPattern(account)) this.patternCache = null;
    else this.accountCache.delete(account);
  }

  private exactBindings(account: string): readonly BindingRef[] {
    // is_pattern is a function of account_name, so a name that looks like a pattern has only pattern rows.
    if (isAccountPattern(account)) return [];
    let refs = this.accountCache.get(account);
    if (!refs) {
      refs = this.bindings.forAccount(account);
      // Bounded by starting over when full: evicting one by one from a Map's front degrades to O(n)
      // per eviction (V8 keeps the deleted slots), and a miss only costs one indexed query.
      if (this.accountCache.size >= ACCOUNT_CACHE_MAX) this.accountCache.clear();
      this.accountCache.set(account, refs);
    }
    return refs;
  }

  private patternBindings(): Array<{ ref: BindingRef; match: Matcher }> {
    if (!this.patternCache) {
      this.patternCache = [];
      for (const { account_name, role_name, namespace } of this.bindings.patterns()) {
        let match: Matcher | undefined;
        try {
          match = parseTemplate(account_name, false).fixed;
        } catch {
          // A stored pattern that no longer passes validation (older rules, edited by hand) binds nobody: fail closed.
          continue;
        }
        if (match) this.patternCache.push({ ref: { account_name, role_name, namespace }, match });
      }
    }
    return this.patternCache;
  }

  /**
   * The bindings that apply to an account: its exact rows (one index lookup) plus the pattern
   * bindings that match it. `""` (anonymous) reads the `<anonymous>` rows and no pattern ever
   * matches it; a request claiming to be literally `<anonymous>` gets neither.
   */
  bindingsFor(account: string): BindingRef[] {
    if (account === ANONYMOUS) return [];
    const exact = this.exactBindings(account === '' ? ANONYMOUS : account);
    if (account === '') return [...exact];
    const out = [...exact];
    for (const p of this.patternBindings()) if (p.match(account)) out.push(p.ref);
    return out;
  }

  decide(req: AuthorizedRequest): AuthorizedResponse {
    return decide(req, this.bindingsFor(req.Account), this.role);
  }

  explain(req: AuthorizedRequest): ExplainResult {
    return explain(req, this.bindingsFor(req.Account), this.role);
  }

  /** Called after bulk changes made directly in the database (import). */
  invalidate(): void {
    this.reloadRoles();
  }
}
