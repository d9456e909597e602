/** Prepared statements over the `bindings` table. `namespace` is '' in SQL, null outside. */
import type { Db } from './db.js';
import { scopeCovers } from '../../auth/principal.js';
import type { BindingRef } from '../../policy/decide.js';
import type { BindingFilter, BindingRecord } from '../store.js';

interface Row {
  id: number;
  account_name: string;
  role_name: string;
  namespace: string;
}

const toRecord = (r: Row): BindingRecord => ({ id: r.id, account_name: r.account_name, role_name: r.role_name, namespace: r.namespace === '' ? null : r.namespace });

export class BindingTable {
  private readonly q;

  constructor(private readonly db: Db) {
    // An API token's namespace scope, matched by the same code that checks its requests (auth/principal.ts).
    db.function('tollgate_scope_covers', { deterministic: true }, (entry: unknown, ns: unknown) =>
      typeof entry === 'string' && typeof ns === 'string' && ns !== '' && scopeCovers(entry, ns) ? 1 : 0,
    );
    this.q = {
      forAccount: db
        .prepare<[string], [string, string]>(
          // Served entirely from the unique (account_name, role_name, namespace) index: no table lookups.
          'SELECT role_name, namespace FROM bindings WHERE account_name = ?',
        )
        // Rows as [role_name, namespace] arrays: the hottest query of a cold decision, no row objects to build.
        .raw(true),
      patterns: db.prepare<[], Row>('SELECT id, account_name, role_name, namespace FROM bindings WHERE is_pattern = 1'),
      insert: db.prepare<[string, string, string, number], Row>(
        'INSERT INTO bindings (account_name, role_name, namespace, is_pattern) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING id, account_name, role_name, namespace',
      ),
      find: db.prepare<[string, string, string], Row>(
        'SELECT id, account_name, role_name, namespace FROM bindings WHERE account_name = ? AND role_name = ? AND namespace = ?',
      ),
      remove: db.prepare<[string, string, string], Row>(
        'DELETE FROM bindings WHERE account_name = ? AND role_name = ? AND namespace = ? RETURNING id, account_name, role_name, namespace',
      ),
      countForRole: db.prepare<[string], { n: number }>('SELECT count(*) AS n FROM bindings WHERE role_name = ?'),
      deleteForRole: db.prepare<[string]>('DELETE FROM bindings WHERE role_name = ?'),
      count: db.prepare<[], { n: number }>('SELECT count(*) AS n FROM bindings'),
    };
  }

  forAccount(account: string): BindingRef[] {
    return this.q.forAccount.all(account).map(([role_name, namespace]) => ({ account_name: account, role_name, namespace: namespace === '' ? null : namespace }));
  }

  patterns(): BindingRecord[] {
    return this.q.patterns.all().map(toRecord);
  }

  insert(account: string, role: string, ns: string | null, pattern: boolean): { created: boolean; binding: BindingRecord } {
    const row = this.q.insert.get(account, role, ns ?? '', pattern ? 1 : 0);
    if (row) return { created: true, binding: toRecord(row) };
    const existing = this.q.find.get(account, role, ns ?? '');
    if (!existing) throw new Error('binding insert neither inserted nor found');
    return { created: false, binding: toRecord(existing) };
  }

  remove(account: string, role: string, ns: string | null): BindingRecord | undefined {
    const row = this.q.remove.get(account, role, ns ?? '');
    return row ? toRecord(row) : undefined;
  }

  countForRole(role: string): number {
    return this.q.countForRole.get(role)?.n ?? 0;
  }

  deleteForRole(role: string): number {
    return this.q.deleteForRole.run(role).changes;
  }

  count(): number {
    return this.q.count.get()?.n ?? 0;
  }

  /** Filtered, id-ordered page; `next` is the `after` value for the following page. */
  list(f: BindingFilter): { bindings: BindingRecord[]; next: number | null } {
    const where: string[] = ['id > ?'];
    const args: Array<string | number> = [f.after ?? 0];
    if (f.account !== undefined) (where.push('account_name = ?'), args.push(f.account));
    if (f.role !== undefined) (where.push('role_name = ?'), args.push(f.role));
    if (f.namespace !== undefined) (where.push('namespace = ?'), args.push(f.namespace));
    // instr, not LIKE: the text is matched as typed (no % or _ wildcards to escape), same as strpos on PostgreSQL.
    if (f.contains) (where.push('(instr(account_name, ?) > 0 OR instr(role_name, ?) > 0 OR instr(namespace, ?) > 0)'), args.push(f.contains, f.contains, f.contains));
    if (f.scope) {
      where.push(`(${f.scope.map(() => 'tollgate_scope_covers(?, namespace)').join(' OR ') || '0'})`);
      args.push(...f.scope);
    }
    args.push(f.limit + 1);
    const rows = this.db.prepare<Array<string | number>, Row>(
      `SELECT id, account_name, role_name, namespace FROM bindings WHERE ${where.join(' AND ')} ORDER BY id LIMIT ?`,
    ).all(...args);
    const more = rows.length > f.limit;
    const page = rows.slice(0, f.limit).map(toRecord);
    return { bindings: page, next: more ? (page[page.length - 1]?.id ?? null) : null };
  }

  /** Every binding, id order (export). */
  all(): BindingRecord[] {
    return this.db.prepare<[], Row>('SELECT id, account_name, role_name, namespace FROM bindings ORDER BY id').all().map(toRecord);
  }
}
