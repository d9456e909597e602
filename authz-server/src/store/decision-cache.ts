/**
 * `AuthzStore`: what routes and decisions use. It wraps one {@link Store} engine and keeps the
 * in-memory caches a decision needs (compiled roles, compiled pattern bindings, the exact bindings of
 * recently seen accounts), dropped on every local write and on every change event from the engine
 * (other replicas) read from the change log by the {@link ChangeTail} (a PostgreSQL NOTIFY only makes it
 * read sooner). While the engine says changes may go unseen, decisions fail closed (503) instead of
 * answering from caches that may be stale; an `all` event rebuilds them. `decideSync` answers without a
 * promise when everything it needs is cached or the engine answers synchronously (SQLite): the cold
 * decision path of authorized-fast.ts.
 */
import type { AuthorizedRequest, AuthorizedResponse } from '../../../common/authorized.js';
import { storeUnavailable } from '../errors.js';
import { decide, type BindingRef, type CompiledRole } from '../policy/decide.js';
import { parseTemplate, type Matcher } from '../policy/pattern.js';
import { compilePermission, type Permission } from '../policy/permission.js';
import { ANONYMOUS, isAccountPattern, type BindingInput } from '../bindings/schema.js';
import type { State } from './state-schema.js';
import type { BindingFilter, BindingRecord, ImportCounts, ImportMode, RoleRecord, Store, StoreEvent } from './store.js';
import type { RobotImport } from '../robots/store.js';
import type { ChangeRow } from './changes.js';
import { ChangeTail } from './change-tail.js';

export type { BindingRecord, BindingFilter, RoleRecord, Store };

const ACCOUNT_CACHE_MAX = 20_000;
const NONE: readonly BindingRef[] = Object.freeze([]);
const REBUILD_RETRY_MS = 250;

type PatternBinding = { ref: BindingRef; match: Matcher };

export class AuthzStore {
  private roleCache = new Map<string, CompiledRole>();
  private patternCache: PatternBinding[] | null = null;
  private patternLoad: { epoch: number; promise: Promise<PatternBinding[]> } | null = null;
  /** Exact bindings of recently seen accounts; an entry is dropped whenever that account's bindings change. */
  private readonly accountCache = new Map<string, readonly BindingRef[]>();
  /** Bumped on every invalidation: a cache fill that started before it is not kept. */
  private epoch = 0;
  private rolesDirty = false;
  private roleLoading: Promise<void> | null = null;
  /** Why decisions are refused right now (null: caches are current). */
  private outOfSync: string | null = null;
  /** The rebuild in progress: decisions wait for it (a roles reload) rather than answer 503 or from stale caches. */
  private rebuilding: Promise<void> | null = null;
  private closed = false;

  /** Follows the change log: this replica's caches, and the change feed (routes/changes.ts). */
  readonly tail: ChangeTail;

  private constructor(
    readonly engine: Store,
    private readonly now: () => Date,
    onError?: (message: string) => void,
  ) {
    this.tail = new ChangeTail(engine, onError);
    engine.subscribe((e) => this.onEvent(e));
    this.tail.subscribe((rows) => this.onChanges(rows));
  }

  /** Wraps an engine, loads the roles and starts following the change log. */
  static async create(engine: Store, now: () => Date = () => new Date(), onError?: (message: string) => void): Promise<AuthzStore> {
    const s = new AuthzStore(engine, now, onError);
    await s.tail.start();
    await s.reloadRoles();
    return s;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.tail.stop();
    await this.engine.close();
  }

  /** Committed changes (this replica's or another's) as cache events; robots and tokens are not cached here. */
  private onChanges(rows: readonly ChangeRow[]): void {
    for (const c of rows) {
      if (c.kind === 'binding') this.bindingChanged(c.subject ?? '');
      else if (c.kind === 'role' || c.kind === 'import') this.onEvent({ kind: 'roles' });
    }
  }

  /** Readiness: caches current and the database answers. */
  async ready(): Promise<boolean> {
    if (!this.current()) return false;
    return this.engine.ping();
  }

  private current(): boolean {
    return this.outOfSync === null && this.engine.inSync;
  }

  private assertCurrent(): void {
    if (!this.engine.inSync) throw storeUnavailable('not connected to change notifications');
    if (this.outOfSync !== null) throw storeUnavailable(this.outOfSync);
  }

  private onEvent(e: StoreEvent): void {
    switch (e.kind) {
      case 'account':
        this.epoch++;
        this.accountCache.delete(e.account);
        return;
      case 'patterns':
        this.epoch++;
        this.patternCache = null;
        return;
      case 'roles':
        // Rare; a forced role delete also removed bindings, so the binding caches go too.
        this.dropBindingCaches();
        void this.reloadRoles().catch(() => this.onEvent({ kind: 'all' }));
        return;
      case 'unavailable':
        this.outOfSync = e.reason;
        this.dropBindingCaches();
        return;
      case 'all':
        void this.rebuild();
        return;
      case 'hint':
        void this.tail.hint();
    }
  }

  /**
   * Drops every cache and reloads the roles. Decisions arriving meanwhile wait for it (it is one query);
   * if the reload fails they get 503 until a retry succeeds. Retries while the engine is in sync.
   */
  private rebuild(): Promise<void> {
    this.outOfSync = 'rebuilding caches';
    this.dropBindingCaches();
    let run: Promise<void> | undefined;
    run = (async () => {
      try {
        await this.reloadRoles();
        this.outOfSync = null;
      } catch {
        if (this.closed) return;
        this.outOfSync = 'cannot reload roles';
        setTimeout(() => {
          if (this.engine.inSync && !this.closed) void this.rebuild();
        }, REBUILD_RETRY_MS).unref();
      } finally {
        if (this.rebuilding === run) this.rebuilding = null;
      }
    })();
    this.rebuilding = run;
    return run;
  }

  // ---- roles -------------------------------------------------------------------------------

  getRole(name: string): Promise<RoleRecord | undefined> {
    return this.engine.getRole(name);
  }

  listRoles(): Promise<RoleRecord[]> {
    return this.engine.listRoles();
  }

  countRoles(): Promise<number> {
    return this.engine.countRoles();
  }

  /** Creates or replaces a role (its permissions are overwritten); `createOnly`: 409 when it exists. */
  async putRole(name: string, permissions: Permission[], createOnly = false): Promise<{ created: boolean }> {
    const out = await this.engine.putRole(name, permissions, this.now().toISOString(), createOnly);
    this.roleCache.set(name, compileRole(name, permissions));
    if (this.roleLoading) this.rolesDirty = true; // a reload that read the table before this write must run again
    return out;
  }

  /** Deletes a role; refuses (409) while bindings use it unless `force`, which deletes them too. */
  async deleteRole(name: string, force: boolean): Promise<{ deleted_bindings: number }> {
    const out = await this.engine.deleteRole(name, force);
    this.roleCache.delete(name);
    if (this.roleLoading) this.rolesDirty = true;
    if (out.deleted_bindings > 0) this.dropBindingCaches();
    return out;
  }

  /** Reloads every compiled role (start, import, another replica's change); concurrent calls coalesce. */
  reloadRoles(): Promise<void> {
    this.rolesDirty = true;
    this.roleLoading ??= (async () => {
      try {
        while (this.rolesDirty) {
          this.rolesDirty = false;
          const next = new Map<string, CompiledRole>();
          for (const r of await this.engine.listRoles()) {
            // A row that no longer compiles (edited by hand) grants nothing: fail closed.
            try {
              next.set(r.name, compileRole(r.name, r.permissions));
            } catch {
              continue;
            }
          }
          this.roleCache = next;
        }
      } finally {
        this.roleLoading = null;
      }
    })();
    return this.roleLoading;
  }

  private dropBindingCaches(): void {
    this.epoch++;
    this.patternCache = null;
    this.accountCache.clear();
  }

  role = (name: string): CompiledRole | undefined => this.roleCache.get(name);

  // ---- bindings ----------------------------------------------------------------------------

  async addBinding(b: BindingInput): Promise<{ created: boolean; binding: BindingRecord }> {
    const pattern = isAccountPattern(b.account_name);
    const res = await this.engine.addBinding({ account_name: b.account_name, role_name: b.role_name, namespace: b.namespace ?? null, is_pattern: pattern });
    if (res.created) this.bindingChanged(b.account_name);
    return res;
  }

  async deleteBinding(b: BindingInput): Promise<BindingRecord> {
    const rec = await this.engine.deleteBinding(b.account_name, b.role_name, b.namespace ?? null);
    this.bindingChanged(b.account_name);
    return rec;
  }

  listBindings(f: BindingFilter): Promise<{ bindings: BindingRecord[]; next: number | null }> {
    return this.engine.listBindings(f);
  }

  countBindings(): Promise<number> {
    return this.engine.countBindings();
  }

  countBindingsForRole(role: string): Promise<number> {
    return this.engine.countBindingsForRole(role);
  }

  private bindingChanged(account: string): void {
    this.onEvent(isAccountPattern(account) ? { kind: 'patterns' } : { kind: 'account', account });
  }

  private async exactBindings(account: string): Promise<readonly BindingRef[]> {
    // is_pattern is a function of account_name, so a name that looks like a pattern has only pattern rows.
    if (isAccountPattern(account)) return [];
    const hit = this.accountCache.get(account);
    if (hit) return hit;
    const epoch = this.epoch;
    const refs = await this.engine.bindingsForAccount(account);
    if (epoch === this.epoch) this.remember(account, refs);
    return refs;
  }

  private remember(account: string, refs: readonly BindingRef[]): void {
    // Bounded by starting over when full: evicting one by one from a Map's front degrades to O(n)
    // per eviction (V8 keeps the deleted slots), and a miss only costs one indexed query.
    if (this.accountCache.size >= ACCOUNT_CACHE_MAX) this.accountCache.clear();
    this.accountCache.set(account, refs);
  }

  private patternBindings(): PatternBinding[] | Promise<PatternBinding[]> {
    if (this.patternCache) return this.patternCache;
    const epoch = this.epoch;
    if (this.patternLoad?.epoch === epoch) return this.patternLoad.promise;
    const promise = this.engine.patternBindings().then((rows) => {
      const compiled = compilePatterns(rows);
      if (epoch === this.epoch) this.patternCache = compiled;
      return compiled;
    });
    this.patternLoad = { epoch, promise };
    void promise.catch(() => undefined).finally(() => {
      if (this.patternLoad?.promise === promise) this.patternLoad = null;
    });
    return promise;
  }

  /**
   * The bindings that apply to an account: its exact rows (one index lookup) plus the pattern
   * bindings that match it. `""` (anonymous) reads the `<anonymous>` rows and no pattern ever
   * matches it; a request claiming to be literally `<anonymous>` gets neither.
   */
  async bindingsFor(account: string): Promise<BindingRef[]> {
    for (let attempt = 0; ; attempt++) {
      if (this.rebuilding) await this.rebuilding;
      this.assertCurrent();
      if (account === ANONYMOUS) return [];
      const exact = await this.exactBindings(account === '' ? ANONYMOUS : account);
      const out = [...exact];
      if (account !== '') for (const p of await this.patternBindings()) if (p.match(account)) out.push(p.ref);
      // A rebuild that started while the lookups ran may have made them stale: once, wait for it and look again.
      if (this.rebuilding && attempt === 0) continue;
      this.assertCurrent();
      return out;
    }
  }

  /**
   * The decision without a promise, or undefined when something it needs is not at hand synchronously
   * (then `decide`). Same rules as `bindingsFor`: nothing is answered while the caches are not current.
   */
  decideSync(req: AuthorizedRequest): AuthorizedResponse | undefined {
    if (this.rebuilding || !this.current()) return undefined;
    const account = req.Account;
    if (account === ANONYMOUS) return undefined;
    const key = account === '' ? ANONYMOUS : account;
    let exact: readonly BindingRef[] | undefined = isAccountPattern(key) ? NONE : this.accountCache.get(key);
    if (exact === undefined) {
      if (!this.engine.bindingsForAccountSync) return undefined;
      exact = this.engine.bindingsForAccountSync(key);
      this.remember(key, exact);
    }
    if (account === '') return decide(req, exact as BindingRef[], this.role);
    const patterns = this.patternCache;
    if (!patterns) return undefined;
    let refs = exact as BindingRef[];
    for (const p of patterns) if (p.match(account)) (refs === exact ? (refs = [...exact]) : refs).push(p.ref);
    return decide(req, refs, this.role);
  }

  async decide(req: AuthorizedRequest): Promise<AuthorizedResponse> {
    return decide(req, await this.bindingsFor(req.Account), this.role);
  }

  /** Atomic import; every cache is rebuilt afterwards. */
  async importState(state: State, mode: ImportMode, now: Date, robots?: RobotImport): Promise<ImportCounts> {
    const counts = await this.engine.importState(state, mode, now.toISOString(), robots);
    this.dropBindingCaches();
    await this.reloadRoles();
    return counts;
  }
}

function compileRole(name: string, permissions: Permission[]): CompiledRole {
  return { name, permissions: permissions.map(compilePermission) };
}

function compilePatterns(rows: readonly BindingRecord[]): PatternBinding[] {
  const out: PatternBinding[] = [];
  for (const { account_name, role_name, namespace } of rows) {
    let match: Matcher | undefined;
    try {
      match = parseTemplate(account_name, false).fixed;
    } catch {
      // A stored pattern that no longer passes validation (older rules, edited by hand) binds nobody: fail closed.
      continue;
    }
    if (match) out.push({ ref: { account_name, role_name, namespace }, match });
  }
  return out;
}
