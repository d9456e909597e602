/** RobotStore on the authz SQLite database (table from migration 2). Sync underneath, async seam. */
import { randomBytes } from 'node:crypto';
import type { Database } from 'better-sqlite3';
import { robotKeyMismatch } from '../errors.js';
import type { SqliteChanges } from './changes.js';
import { COLS, toRecord, type RobotImport, type RobotRecord, type Row, type RobotStore } from '../../robots/store.js';

const toRow = (r: RobotRecord): Row => ({ ...r, actions: JSON.stringify(r.actions) });

export class SqliteRobotStore implements RobotStore {
  private readonly q;
  private key: Buffer | undefined;

  constructor(
    private readonly db: Database,
    private readonly changes: SqliteChanges,
  ) {
    this.q = {
      insert: db.prepare(`INSERT INTO robots (${COLS}) VALUES (@account, @namespace, @name, @actions, @created_at, @expires_at, @rotated_at, @secret_hash, @previous_hash, @previous_until, @generation) ON CONFLICT(account) DO NOTHING`),
      upsert: db.prepare(
        `INSERT INTO robots (${COLS}) VALUES (@account, @namespace, @name, @actions, @created_at, @expires_at, @rotated_at, @secret_hash, @previous_hash, @previous_until, @generation)
         ON CONFLICT(account) DO UPDATE SET actions = excluded.actions, created_at = excluded.created_at, expires_at = excluded.expires_at, rotated_at = excluded.rotated_at,
           secret_hash = excluded.secret_hash, previous_hash = excluded.previous_hash, previous_until = excluded.previous_until, generation = excluded.generation`,
      ),
      get: db.prepare<[string], Row>(`SELECT ${COLS} FROM robots WHERE account = ?`),
      all: db.prepare<[], Row>(`SELECT ${COLS} FROM robots ORDER BY account`),
      any: db.prepare<[], { one: number }>('SELECT 1 AS one FROM robots LIMIT 1'),
      byNs: db.prepare<[string], Row>(`SELECT ${COLS} FROM robots WHERE namespace = ? ORDER BY account`),
      rotate: db.prepare('UPDATE robots SET previous_hash = secret_hash, previous_until = ?, secret_hash = ?, rotated_at = ? WHERE account = ?'),
      delete: db.prepare('DELETE FROM robots WHERE account = ?'),
      getKey: db.prepare<[], { hmac_key: Buffer }>('SELECT hmac_key FROM robot_hash_key WHERE id = 1'),
      setKey: db.prepare('INSERT INTO robot_hash_key (id, hmac_key) VALUES (1, ?) ON CONFLICT(id) DO UPDATE SET hmac_key = excluded.hmac_key'),
      ping: db.prepare<[], { ok: number }>('SELECT 1 AS ok'),
    };
  }

  async create(r: RobotRecord): Promise<boolean> {
    return this.db.transaction(() => {
      const created = this.q.insert.run(toRow(r)).changes === 1;
      if (created) this.changes.append('robot', r.account, r.generation);
      return created;
    })();
  }

  async get(account: string): Promise<RobotRecord | undefined> {
    const row = this.q.get.get(account);
    return row ? toRecord(row) : undefined;
  }

  async list(namespace?: string): Promise<RobotRecord[]> {
    return (namespace === undefined ? this.q.all.all() : this.q.byNs.all(namespace)).map(toRecord);
  }

  async isEmpty(): Promise<boolean> {
    return this.q.any.get() === undefined;
  }

  async rotate(account: string, hash: string, previousUntil: string, at: string): Promise<boolean> {
    return this.db.transaction(() => {
      const done = this.q.rotate.run(previousUntil, hash, at, account).changes === 1;
      if (done) this.changes.append('robot', account, this.q.get.get(account)?.generation ?? null);
      return done;
    })();
  }

  async delete(account: string): Promise<boolean> {
    return this.db.transaction(() => {
      const gone = this.q.delete.run(account).changes === 1;
      if (gone) this.changes.append('robot', account);
      return gone;
    })();
  }

  async hashKey(): Promise<Buffer> {
    if (this.key) return this.key;
    const key = this.db.transaction(() => {
      const found = this.q.getKey.get()?.hmac_key;
      if (found) return Buffer.from(found);
      const fresh = randomBytes(32);
      this.q.setKey.run(fresh);
      return fresh;
    })();
    this.key = key;
    return key;
  }

  async importAll(key: Buffer, robots: RobotRecord[], mode: 'replace' | 'merge'): Promise<number> {
    const n = this.db.transaction(() => {
      const written = this.writeImport({ key, records: robots }, mode);
      this.changes.append('import');
      return written;
    })();
    this.imported(key);
    return n;
  }

  /**
   * The robots part of an import, inside the caller's transaction (importAll, or the engine's whole-state
   * import): throws the 409 before writing anything when a merge would mix hashes of two keys.
   */
  writeImport({ key, records }: RobotImport, mode: 'replace' | 'merge'): number {
    const current = this.q.getKey.get()?.hmac_key;
    // Merging hashes made with another key would leave robots that can never log in.
    if (mode === 'merge' && current && !Buffer.from(current).equals(key) && this.q.any.get() !== undefined) {
      throw robotKeyMismatch();
    }
    if (mode === 'replace') this.db.exec('DELETE FROM robots');
    this.q.setKey.run(key);
    for (const r of records) this.q.upsert.run(toRow(r));
    return records.length;
  }

  /** After the import's transaction committed: the key it wrote is the one to hash with. */
  imported(key: Buffer): void {
    this.key = key;
  }

  async ping(): Promise<boolean> {
    return this.q.ping.get()?.ok === 1;
  }
}
