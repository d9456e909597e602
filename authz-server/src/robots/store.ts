/**
 * The robot store seam: async so a networked engine (PostgreSQL) fits beside SQLite. Secrets never
 * reach a store — only their keyed hashes (secret.ts).
 */
import { randomBytes } from 'node:crypto';
import type { RobotAction } from './actions.js';

export interface RobotRecord {
  account: string;
  namespace: string;
  name: string;
  actions: RobotAction[];
  created_at: string;
  /** ISO time the robot stops working, or null for no expiry. */
  expires_at: string | null;
  rotated_at: string | null;
  secret_hash: string;
  /** Hash of the secret replaced by the last rotation, valid until `previous_until`. */
  previous_hash: string | null;
  previous_until: string | null;
  /**
   * Id this robot got when it was created (migration 4): a robot deleted and re-created under the same
   * name is another generation, so nothing learnt about the old one (a cached login) applies to it.
   */
  generation: string;
}

/** A robot as both engines store it: `actions` is a JSON array in a TEXT column. */
export type Row = Omit<RobotRecord, 'actions'> & { actions: string };
/** The robots table's columns, in the order both engines read and write them. */
export const COLS = 'account, namespace, name, actions, created_at, expires_at, rotated_at, secret_hash, previous_hash, previous_until, generation';
export const toRecord = (r: Row): RobotRecord => ({ ...r, actions: JSON.parse(r.actions) as RobotRecord['actions'] });

/** Past its expiry (a robot without one never expires): it gets nothing and verifies no secret. */
export const isRobotExpired = (r: Pick<RobotRecord, 'expires_at'>, now: Date): boolean => r.expires_at !== null && Date.parse(r.expires_at) <= now.getTime();

/** A fresh generation id (robot create, or an import that writes a robot). */
export const newGeneration = (): string => randomBytes(16).toString('hex');

/** The robots part of an import file, validated: the hash key and the records to write (robots/state.ts). */
export interface RobotImport {
  key: Buffer;
  records: RobotRecord[];
}

export interface RobotStore {
  /** Creates a robot; resolves false when the account exists. */
  create(r: RobotRecord): Promise<boolean>;
  get(account: string): Promise<RobotRecord | undefined>;
  list(namespace?: string): Promise<RobotRecord[]>;
  /** No robot at all (one indexed row read, not a listing). */
  isEmpty(): Promise<boolean>;
  /** Swaps in a new hash, keeping the old one until `previousUntil`; false when the robot does not exist. */
  rotate(account: string, hash: string, previousUntil: string, at: string): Promise<boolean>;
  delete(account: string): Promise<boolean>;
  /** The HMAC key of this deployment's secret hashes (created on first use; exported with the robots). */
  hashKey(): Promise<Buffer>;
  /** Replace: the robots (and key) end up exactly these; merge: these are upserted, nothing deleted. */
  importAll(key: Buffer, robots: RobotRecord[], mode: 'replace' | 'merge'): Promise<number>;
  ping(): Promise<boolean>;
}
