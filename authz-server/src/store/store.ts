/**
 * The store seam: what the decision cache and the routes need from a database. Two engines implement
 * it (`sqlite/`, `postgres/`); `main.ts` picks one from `--db` and nothing else knows which.
 *
 * Contract: every method may do I/O, so every method is async. A thrown {@link AuthzError} is an answer
 * for the client (404, 409, 400); any other error means "could not serve" and becomes 503.
 * Writes are durable when their promise resolves.
 */
import type { BindingRef } from '../policy/decide.js';
import type { Permission } from '../policy/permission.js';
import type { RobotImport, RobotStore } from '../robots/store.js';
import type { SessionStore } from '../console/session-store.js';
import type { ApiTokenStore } from '../tokens/store.js';
import type { State } from './state-schema.js';
import type { ChangeLog } from './changes.js';

export interface RoleRecord {
  name: string;
  permissions: Permission[];
  created_at: string;
  updated_at: string;
}

export interface BindingRecord extends BindingRef {
  id: number;
}

export interface BindingFilter {
  account?: string | undefined;
  role?: string | undefined;
  namespace?: string | undefined;
  /** Substring of the account, the role or the namespace (case-sensitive, as names are). */
  contains?: string | undefined;
  /**
   * Only bindings in a namespace one of these scope entries covers (exact, glob, `*`: auth/principal.ts),
   * never one without namespace: an API token's view. Filtered in the query, so a page is full.
   */
  scope?: readonly string[] | undefined;
  limit: number;
  after?: number | undefined;
}

export interface NewBinding {
  account_name: string;
  role_name: string;
  namespace: string | null;
  is_pattern: boolean;
}

/** Roles and bindings in export form (ids dropped, namespace omitted when none), one consistent snapshot. */
export interface StateRows {
  roles: Array<{ name: string; permissions: Permission[] }>;
  bindings: Array<{ account_name: string; role_name: string; namespace?: string }>;
}

export type ImportMode = 'replace' | 'merge';
/** What an import wrote; `robots` only when the file had a robots part. */
export interface ImportCounts {
  roles: number;
  bindings: number;
  robots?: number;
}

/**
 * A change the caches must follow. `account`: that account's exact bindings changed; `patterns`: some
 * pattern binding changed; `roles`: some role changed; `all`: anything may have changed (import, or
 * change events were missed and the caches must be rebuilt). `unavailable`: changes can no longer be
 * seen (decisions must stop until the next `all`). `hint`: a change was committed (here or by another process); read the
 * change log now (a hint carries no change itself).
 */
export type StoreEvent =
  | { kind: 'account'; account: string }
  | { kind: 'patterns' }
  | { kind: 'roles' }
  | { kind: 'all' }
  | { kind: 'unavailable'; reason: string }
  | { kind: 'hint' };

/** Scoped API tokens (`ApiTokenStore`, tokens/store.ts) and the change log live on the same seam: both engines implement them. */
export interface Store extends ApiTokenStore, ChangeLog {
  readonly engine: 'sqlite' | 'postgres';
  /** Robot accounts in the same database (store/sqlite/robots.ts, store/postgres/robots.ts). */
  readonly robots: RobotStore;
  /** The web console's sessions in the same database (store/sqlite/sessions.ts, store/postgres/sessions.ts). */
  readonly sessions: SessionStore;
  /**
   * Events of the engine: `hint` once a write of this process that appended to the change log has
   * committed (both engines: the change tail then reads the log at once, whoever made the write — a
   * route, the console, an import), and on PostgreSQL also for other replicas' writes (NOTIFY) and the
   * notification connection's state (`unavailable`, `all`).
   */
  subscribe(listener: (e: StoreEvent) => void): void;
  /** False while changes made elsewhere may go unseen (lost notification connection). */
  readonly inSync: boolean;
  /** Readiness: the database answers a query now. */
  ping(): Promise<boolean>;
  close(): Promise<void>;

  getRole(name: string): Promise<RoleRecord | undefined>;
  listRoles(): Promise<RoleRecord[]>;
  countRoles(): Promise<number>;
  /**
   * Creates or replaces a role; `ts` is the ISO time stamp to record. `createOnly`: 409 naming the role
   * when it exists, decided by the insert itself (unique name), so of two concurrent creates one fails.
   */
  putRole(name: string, permissions: Permission[], ts: string, createOnly?: boolean): Promise<{ created: boolean }>;
  /** 404 when missing; 409 while bindings use it unless `force`, which deletes them too. */
  deleteRole(name: string, force: boolean): Promise<{ deleted_bindings: number }>;

  /** 404 when the role does not exist; an existing identical binding is returned with `created: false`. */
  addBinding(b: NewBinding): Promise<{ created: boolean; binding: BindingRecord }>;
  /** 404 (role_not_found or binding_not_found) when there is nothing to delete. */
  deleteBinding(account: string, role: string, namespace: string | null): Promise<BindingRecord>;
  /** An account's exact (non-pattern) bindings: one index lookup. */
  bindingsForAccount(account: string): Promise<BindingRef[]>;
  /**
   * The same lookup answered synchronously, by an engine that can (SQLite): the decision path then runs
   * without a promise per request (decision-cache.ts `decideSync`). Absent on networked engines.
   */
  bindingsForAccountSync?(account: string): BindingRef[];
  patternBindings(): Promise<BindingRecord[]>;
  countBindings(): Promise<number>;
  countBindingsForRole(role: string): Promise<number>;
  /** Filtered, id-ordered page; `next` is the `after` value for the following page. */
  listBindings(f: BindingFilter): Promise<{ bindings: BindingRecord[]; next: number | null }>;

  exportRows(): Promise<StateRows>;
  /**
   * All or nothing, robots included (one transaction): 400 naming the binding when it refers to an
   * unknown role, 409 when a merge's robot key differs from this database's (store/errors.ts).
   */
  importState(state: State, mode: ImportMode, ts: string, robots?: RobotImport): Promise<ImportCounts>;
}
