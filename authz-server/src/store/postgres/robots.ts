/**
 * RobotStore on the shared PostgreSQL database (tables from migration 2), beside the roles and
 * bindings of store/postgres/. Nothing is cached: every verify reads the robot and the hash key from
 * the database, so a robot created, rotated or deleted — or a key replaced by an import — on one
 * replica is what every other replica uses on its next request; no change notification is needed.
 * A database failure is a 503 (through the engine's `run`/`tx`), never a robot that logs in wrongly.
 */
import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import { robotKeyMismatch } from '../errors.js';
import { appendChange } from './changes.js';
import { COLS, toRecord, type RobotImport, type RobotRecord, type Row, type RobotStore } from '../../robots/store.js';

/** What this store needs of the engine: its query helpers, which turn database failures into 503. */
export interface PgRunner {
  run<T>(what: string, fn: (q: pg.Pool | pg.PoolClient) => Promise<T>): Promise<T>;
  tx<T>(what: string, fn: (c: pg.PoolClient) => Promise<T>): Promise<T>;
}

const PARAMS = '$1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11';
const values = (r: RobotRecord): unknown[] => [
  r.account,
  r.namespace,
  r.name,
  JSON.stringify(r.actions),
  r.created_at,
  r.expires_at,
  r.rotated_at,
  r.secret_hash,
  r.previous_hash,
  r.previous_until,
  r.generation,
];

const UPSERT = `INSERT INTO robots (${COLS}) VALUES (${PARAMS})
  ON CONFLICT (account) DO UPDATE SET actions = excluded.actions, created_at = excluded.created_at, expires_at = excluded.expires_at, rotated_at = excluded.rotated_at,
    secret_hash = excluded.secret_hash, previous_hash = excluded.previous_hash, previous_until = excluded.previous_until, generation = excluded.generation`;
const SET_KEY = 'INSERT INTO robot_hash_key (id, hmac_key) VALUES (1, $1) ON CONFLICT (id) DO UPDATE SET hmac_key = excluded.hmac_key';

/**
 * The robots part of an import, inside the caller's transaction (importAll, or the engine's whole-state
 * import, which runs it first): throws the 409 before writing anything when a merge would mix hashes of two keys.
 */
export async function writeRobotsImport(c: pg.PoolClient, { key, records }: RobotImport, mode: 'replace' | 'merge'): Promise<number> {
  // Serializes with another import and with hashKey()'s first insert.
  await c.query('LOCK TABLE robot_hash_key IN EXCLUSIVE MODE');
  const current = (await c.query<{ hmac_key: Buffer }>('SELECT hmac_key FROM robot_hash_key WHERE id = 1')).rows[0]?.hmac_key;
  // Merging hashes made with another key would leave robots that can never log in.
  if (mode === 'merge' && current && !current.equals(key) && (await c.query('SELECT 1 FROM robots LIMIT 1')).rowCount! > 0) {
    throw robotKeyMismatch();
  }
  if (mode === 'replace') await c.query('DELETE FROM robots');
  await c.query(SET_KEY, [key]);
  for (const r of records) await c.query(UPSERT, values(r));
  return records.length;
}

export class PostgresRobotStore implements RobotStore {
  constructor(private readonly db: PgRunner) {}

  create(r: RobotRecord): Promise<boolean> {
    return this.db.tx('create robot', async (c) => {
      const created = (await c.query(`INSERT INTO robots (${COLS}) VALUES (${PARAMS}) ON CONFLICT (account) DO NOTHING`, values(r))).rowCount === 1;
      if (created) await appendChange(c, 'robot', r.account, r.generation);
      return created;
    });
  }

  get(account: string): Promise<RobotRecord | undefined> {
    return this.db.run('get robot', async (q) => {
      const row = (await q.query<Row>(`SELECT ${COLS} FROM robots WHERE account = $1`, [account])).rows[0];
      return row ? toRecord(row) : undefined;
    });
  }

  list(namespace?: string): Promise<RobotRecord[]> {
    return this.db.run('list robots', async (q) => {
      const res = namespace === undefined
        ? await q.query<Row>(`SELECT ${COLS} FROM robots ORDER BY account`)
        : await q.query<Row>(`SELECT ${COLS} FROM robots WHERE namespace = $1 ORDER BY account`, [namespace]);
      return res.rows.map(toRecord);
    });
  }

  isEmpty(): Promise<boolean> {
    return this.db.run('any robot', async (q) => (await q.query('SELECT 1 FROM robots LIMIT 1')).rowCount === 0);
  }

  rotate(account: string, hash: string, previousUntil: string, at: string): Promise<boolean> {
    return this.db.tx('rotate robot', async (c) => {
      const { rows } = await c.query<{ generation: string }>(
        'UPDATE robots SET previous_hash = secret_hash, previous_until = $1, secret_hash = $2, rotated_at = $3 WHERE account = $4 RETURNING generation',
        [previousUntil, hash, at, account],
      );
      if (rows[0]) await appendChange(c, 'robot', account, rows[0].generation);
      return rows.length === 1;
    });
  }

  delete(account: string): Promise<boolean> {
    return this.db.tx('delete robot', async (c) => {
      const gone = (await c.query('DELETE FROM robots WHERE account = $1', [account])).rowCount === 1;
      if (gone) await appendChange(c, 'robot', account);
      return gone;
    });
  }

  /** Two replicas creating the first key at once: the first insert wins and both read it back. */
  hashKey(): Promise<Buffer> {
    return this.db.run('read robot hash key', async (q) => {
      const found = (await q.query<{ hmac_key: Buffer }>('SELECT hmac_key FROM robot_hash_key WHERE id = 1')).rows[0];
      if (found) return found.hmac_key;
      await q.query('INSERT INTO robot_hash_key (id, hmac_key) VALUES (1, $1) ON CONFLICT (id) DO NOTHING', [randomBytes(32)]);
      return (await q.query<{ hmac_key: Buffer }>('SELECT hmac_key FROM robot_hash_key WHERE id = 1')).rows[0]!.hmac_key;
    });
  }

  importAll(key: Buffer, robots: RobotRecord[], mode: 'replace' | 'merge'): Promise<number> {
    return this.db.tx('import robots', async (c) => {
      const n = await writeRobotsImport(c, { key, records: robots }, mode);
      await appendChange(c, 'import');
      return n;
    });
  }

  async ping(): Promise<boolean> {
    try {
      return await this.db.run('ping', async (q) => (await q.query<{ ok: number }>('SELECT 1 AS ok')).rows[0]?.ok === 1);
    } catch {
      return false;
    }
  }
}
