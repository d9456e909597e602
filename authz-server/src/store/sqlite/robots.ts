/** RobotStore on the authz SQLite database (table from migration 2). Sync underneath, async seam. */
import { randomBytes } from 'node:crypto';
import type { Database } from 'better-sqlite3';
import { robotKeyMismatch } from '../errors.js';
import type { SqliteChanges } from './changes.js';
import { COLS, toRecord, type RobotRecord, type Row, type RobotStore } from '../../robots/store.js';

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
    this.db.transaction(() => {
      const current = this.q.getKey.get()?.hmac_key;
      // Merging hashes made with another key would leave robots that can never log in.
      if (mode === 'merge' && current && !Buffer.from(current).equals(key) && this.q.all.all().length > 0) {
        throw robotKeyMismatch();
      }
      if (mode === 'replace') this.db.exec('DELETE FROM robots');
      this.q.setKey.run(key);
      for (const r of robots) this.q.upsert.run(toRow(r));
      this.changes.append('import');
    })();
    this.key = key;
    return robots.length;
  }

  async ping(): Promise<boolean> {
    return this.q.ping.get()?.ok === 1;
  }
}
