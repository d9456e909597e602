/**
 * A scoped API token as both engines store it (table from migration 3): the SHA-256 of the token,
 * never the token. `namespaces` and `abilities` are JSON arrays in TEXT columns.
 */
import type { Ability } from '../auth/principal.js';

export interface ApiTokenRecord {
  id: string;
  name: string;
  /** Hex SHA-256 of the whole token (tokens are 32 random bytes: no salt or slow hash needed). */
  token_hash: string;
  namespaces: string[];
  abilities: Ability[];
  created_at: string;
  expires_at: string | null;
  last_used_at: string | null;
}

export type ApiTokenRow = Omit<ApiTokenRecord, 'namespaces' | 'abilities'> & { namespaces: string; abilities: string };

export const TOKEN_COLS = 'id, name, token_hash, namespaces, abilities, created_at, expires_at, last_used_at';

export const toTokenRecord = (r: ApiTokenRow): ApiTokenRecord => ({
  ...r,
  namespaces: JSON.parse(r.namespaces) as string[],
  abilities: JSON.parse(r.abilities) as Ability[],
});

export const toTokenRow = (r: ApiTokenRecord): ApiTokenRow => ({ ...r, namespaces: JSON.stringify(r.namespaces), abilities: JSON.stringify(r.abilities) });

/** Past its expiry (a token without one never expires). */
export const isExpired = (t: Pick<ApiTokenRecord, 'expires_at'>, nowMs: number): boolean => t.expires_at !== null && Date.parse(t.expires_at) <= nowMs;

/** The token methods of the store seam (store/store.ts), implemented by both engines. */
export interface ApiTokenStore {
  /** Resolves false when a token of that name exists. */
  createApiToken(t: ApiTokenRecord): Promise<boolean>;
  listApiTokens(): Promise<ApiTokenRecord[]>;
  /** Revokes (deletes) by name; false when there is none. */
  deleteApiToken(name: string): Promise<boolean>;
  /** One lookup by the unique hash index. */
  apiTokenByHash(hash: string): Promise<ApiTokenRecord | undefined>;
  /** Sets last_used_at; tokens/resolve.ts decides how often. */
  touchApiToken(id: string, at: string): Promise<void>;
}
