/** Prepared statements over the `api_tokens` table (migration 3). */
import type { Db } from './db.js';
import { TOKEN_COLS, toTokenRecord, toTokenRow, type ApiTokenRecord, type ApiTokenRow, type ApiTokenStore } from '../../tokens/store.js';

export class TokenTable implements ApiTokenStore {
  private readonly q;

  constructor(db: Db) {
    this.q = {
      insert: db.prepare(
        `INSERT INTO api_tokens (${TOKEN_COLS}) VALUES (@id, @name, @token_hash, @namespaces, @abilities, @created_at, @expires_at, @last_used_at) ON CONFLICT DO NOTHING`,
      ),
      all: db.prepare<[], ApiTokenRow>(`SELECT ${TOKEN_COLS} FROM api_tokens ORDER BY name`),
      byHash: db.prepare<[string], ApiTokenRow>(`SELECT ${TOKEN_COLS} FROM api_tokens WHERE token_hash = ?`),
      remove: db.prepare<[string]>('DELETE FROM api_tokens WHERE name = ?'),
      touch: db.prepare<[string, string]>('UPDATE api_tokens SET last_used_at = ? WHERE id = ?'),
    };
  }

  /** Synchronous, so the engine can put it in one transaction with its change-log row. */
  insert(t: ApiTokenRecord): boolean {
    return this.q.insert.run(toTokenRow(t)).changes === 1;
  }

  async createApiToken(t: ApiTokenRecord): Promise<boolean> {
    return this.insert(t);
  }

  async listApiTokens(): Promise<ApiTokenRecord[]> {
    return this.q.all.all().map(toTokenRecord);
  }

  remove(name: string): boolean {
    return this.q.remove.run(name).changes === 1;
  }

  async deleteApiToken(name: string): Promise<boolean> {
    return this.remove(name);
  }

  async apiTokenByHash(hash: string): Promise<ApiTokenRecord | undefined> {
    const row = this.q.byHash.get(hash);
    return row ? toTokenRecord(row) : undefined;
  }

  async touchApiToken(id: string, at: string): Promise<void> {
    this.q.touch.run(at, id);
  }
}
