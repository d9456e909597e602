/** The `api_tokens` table (migration 3) on PostgreSQL; failures become 503 through the engine's `run`. */
import { appendChange } from './changes.js';
import type { PgRunner } from './robots.js';
import { TOKEN_COLS, toTokenRecord, toTokenRow, type ApiTokenRecord, type ApiTokenRow, type ApiTokenStore } from '../../tokens/store.js';

export class PostgresTokenTable implements ApiTokenStore {
  constructor(private readonly db: PgRunner) {}

  createApiToken(t: ApiTokenRecord): Promise<boolean> {
    const r = toTokenRow(t);
    // A new token is a change on the feed (issue 22), written in the same transaction.
    return this.db.tx('create API token', async (c) => {
      const created = (await c.query(`INSERT INTO api_tokens (${TOKEN_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING`, [
        r.id, r.name, r.token_hash, r.namespaces, r.abilities, r.created_at, r.expires_at, r.last_used_at,
      ])).rowCount === 1;
      if (created) await appendChange(c, 'token', r.name);
      return created;
    });
  }

  listApiTokens(): Promise<ApiTokenRecord[]> {
    return this.db.run('list API tokens', async (q) => (await q.query<ApiTokenRow>(`SELECT ${TOKEN_COLS} FROM api_tokens ORDER BY name`)).rows.map(toTokenRecord));
  }

  deleteApiToken(name: string): Promise<boolean> {
    return this.db.tx('revoke API token', async (c) => {
      const removed = (await c.query('DELETE FROM api_tokens WHERE name = $1', [name])).rowCount === 1;
      if (removed) await appendChange(c, 'token', name);
      return removed;
    });
  }

  apiTokenByHash(hash: string): Promise<ApiTokenRecord | undefined> {
    return this.db.run('read API token', async (q) => {
      const row = (await q.query<ApiTokenRow>(`SELECT ${TOKEN_COLS} FROM api_tokens WHERE token_hash = $1`, [hash])).rows[0];
      return row ? toTokenRecord(row) : undefined;
    });
  }

  async touchApiToken(id: string, at: string): Promise<void> {
    await this.db.run('touch API token', (q) => q.query('UPDATE api_tokens SET last_used_at = $1 WHERE id = $2', [at, id]));
  }
}
