/**
 * The change log both engines keep (migration 4): one row, one revision, per committed change to roles,
 * bindings, robots (create, rotate, delete), imports and scoped API tokens, written in the same
 * transaction as the change itself. It is the source of the change feed (routes/changes.ts) that authn
 * caches by, and of this replica's own cache invalidation (decision-cache.ts): a PostgreSQL NOTIFY is only
 * a hint to read it sooner, never the change itself.
 */
export const CHANGE_KINDS = ['role', 'binding', 'robot', 'import', 'token'] as const;
export type ChangeKind = (typeof CHANGE_KINDS)[number];

/** One committed change. `subject`: the account (binding, robot), role name, or token id; `detail`: a robot's generation. */
export interface ChangeRow {
  rev: number;
  kind: ChangeKind;
  subject: string | null;
  detail: string | null;
}

/** Where the log stands: this database's id, its newest revision, and the newest revision trimmed away. */
export interface FeedInfo {
  database_id: string;
  head: number;
  trimmed_through: number;
}

/** Revisions kept for clients that reconnect with `since`; an older `since` gets a reset. */
export const CHANGES_KEPT = 10_000;
/** Trim once every this many appends (one cheap DELETE on the primary key). */
export const TRIM_EVERY = 256;

/** What the engines provide for the log. */
export interface ChangeLog {
  feedInfo(): Promise<FeedInfo>;
  /** Changes with rev > `rev`, oldest first, at most `limit`. */
  changesSince(rev: number, limit: number): Promise<ChangeRow[]>;
}
