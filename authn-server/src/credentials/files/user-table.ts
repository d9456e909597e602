/**
 * An in-memory table of users (bcrypt hash + labels) behind the `CredentialBackend` contract. The file
 * backends parse their file into a table and swap it in on reload; verification goes through the shared
 * `PasswordVerifier` (cache of successes).
 */
import { createHash, createHmac } from 'node:crypto';
import bcrypt from 'bcryptjs';
import type { AuthnResult, CredentialBackend, Labels } from '../backend.js';
import type { PasswordVerifier } from '../bcrypt/verifier.js';

/** What a file yields per user. */
export interface UserRecord {
  hash: string;
  labels: Labels;
}

interface UserEntry extends UserRecord {
  credentialId: string;
}

/**
 * Default key of the credential fingerprint. Fixed (not per process) so refresh tokens survive a restart and
 * work across replicas; the fingerprint only has to be unforgeable inside a signed token and to reveal nothing
 * about the password, and an HMAC of a salted bcrypt hash does both.
 */
const DEFAULT_CREDENTIAL_ID_KEY = 'tollgate credential-id v1';

/** Fingerprint of one user's stored hash: stable while the hash is, different as soon as it changes. */
export function credentialIdOf(user: string, hash: string, key: string | Buffer = DEFAULT_CREDENTIAL_ID_KEY): string {
  return createHmac('sha256', key).update(user).update('\0').update(hash).digest('base64url').slice(0, 32);
}

function freezeLabels(labels: Labels): Labels {
  const copy: Labels = {};
  for (const [k, v] of Object.entries(labels)) copy[k] = Object.freeze([...v]) as string[];
  return Object.freeze(copy);
}

export class UserTable implements CredentialBackend {
  private users = new Map<string, UserEntry>();

  /** The user names now loaded (the chain's account-space check on an issuers reload). */
  names(): IterableIterator<string> {
    return this.users.keys();
  }
  /** How many users have each bcrypt cost: the chain's dummy compare uses the most common one. */
  private costs = new Map<number, number>();
  private digest = Buffer.alloc(32);

  constructor(
    readonly name: string,
    private readonly verifier: PasswordVerifier,
    private readonly credentialIdKey: string | Buffer = DEFAULT_CREDENTIAL_ID_KEY,
  ) {}

  get userCount(): number {
    return this.users.size;
  }

  /** SHA-256 over every (user, stored hash): keys the unknown-user cost draw (dummy-cost.ts). */
  get hashDigest(): Buffer {
    return this.digest;
  }

  get costCounts(): ReadonlyMap<number, number> {
    return this.costs;
  }

  /** Swaps in a new table and forgets every cached verification. */
  replace(records: ReadonlyMap<string, UserRecord>): void {
    const users = new Map<string, UserEntry>();
    const costs = new Map<number, number>();
    const digest = createHash('sha256');
    for (const [user, rec] of records) {
      digest.update(user).update('\0').update(rec.hash).update('\n');
      users.set(user, { hash: rec.hash, labels: freezeLabels(rec.labels), credentialId: credentialIdOf(user, rec.hash, this.credentialIdKey) });
      const cost = bcrypt.getRounds(rec.hash);
      costs.set(cost, (costs.get(cost) ?? 0) + 1);
    }
    this.users = users;
    this.costs = costs;
    this.digest = digest.digest();
    this.verifier.clear();
  }

  async authenticate(user: string, password: string, client?: string): Promise<AuthnResult> {
    const entry = this.users.get(user);
    if (!entry) return { kind: 'no-match' };
    const ok = await this.verifier.verify(user, password, entry.hash, client);
    return ok ? { kind: 'ok', labels: entry.labels, credentialId: entry.credentialId } : { kind: 'wrong-password' };
  }

  lookup(user: string): { credentialId: string; labels: Labels } | null {
    const entry = this.users.get(user);
    return entry ? { credentialId: entry.credentialId, labels: entry.labels } : null;
  }
}
