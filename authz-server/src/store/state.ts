/**
 * Whole-state export and atomic import. Import validates everything first, then writes in one
 * transaction: either the whole file is applied or nothing changes.
 */
import { z } from 'zod';
import { AuthzError } from '../errors.js';
import { PermissionsInputSchema, type Permission } from '../policy/permission.js';
import { RoleNameSchema } from '../roles/schema.js';
import { BindingSchema, isAccountPattern } from '../bindings/schema.js';
import type { Store } from './index.js';
import { RobotsStateSchema } from '../robots/state.js';

export const STATE_VERSION = 1;

export const StateSchema = z
  .object({
    version: z.literal(STATE_VERSION),
    exported_at: z.string().optional(),
    roles: z.array(z.object({ name: RoleNameSchema, permissions: PermissionsInputSchema }).strict()),
    bindings: z.array(BindingSchema),
    robots: RobotsStateSchema.optional(),
  })
  .strict();

export type State = z.infer<typeof StateSchema>;

export interface ExportedState {
  version: number;
  exported_at: string;
  roles: Array<{ name: string; permissions: Permission[] }>;
  bindings: Array<{ account_name: string; role_name: string; namespace?: string }>;
}

export function exportState(store: Store, now: Date): ExportedState {
  return store.db.transaction(() => ({
    version: STATE_VERSION,
    exported_at: now.toISOString(),
    roles: store.listRoles().map((r) => ({ name: r.name, permissions: r.permissions })),
    bindings: store.bindings.all().map((b) => ({
      account_name: b.account_name,
      role_name: b.role_name,
      ...(b.namespace !== null ? { namespace: b.namespace } : {}),
    })),
  }))();
}

export type ImportMode = 'replace' | 'merge';

/**
 * `replace`: the store ends up exactly equal to the file. `merge`: roles in the file are created or
 * replaced, bindings added; nothing is deleted.
 */
export function importState(store: Store, state: State, mode: ImportMode, now: Date): { roles: number; bindings: number } {
  const names = new Set<string>();
  state.roles.forEach((r, i) => {
    if (names.has(r.name)) throw new AuthzError(400, 'invalid_request', `role "${r.name}" appears twice`, `roles[${i}].name`);
    names.add(r.name);
  });
  const db = store.db;
  const ts = now.toISOString();
  const upsertRole = db.prepare(
    'INSERT INTO roles (name, permissions, created_at, updated_at) VALUES (?, ?, ?, ?) ON CONFLICT(name) DO UPDATE SET permissions = excluded.permissions, updated_at = excluded.updated_at',
  );
  const roleExists = db.prepare<[string], { n: number }>('SELECT 1 AS n FROM roles WHERE name = ?');
  const insertBinding = db.prepare(
    'INSERT INTO bindings (account_name, role_name, namespace, is_pattern) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING',
  );
  const counts = db.transaction(() => {
    if (mode === 'replace') {
      db.exec('DELETE FROM bindings; DELETE FROM roles;');
    }
    for (const r of state.roles) {
      upsertRole.run(r.name, JSON.stringify(r.permissions), ts, ts);
    }
    let added = 0;
    state.bindings.forEach((b, i) => {
      if (!names.has(b.role_name) && !roleExists.get(b.role_name)) {
        throw new AuthzError(400, 'invalid_request', `binding refers to unknown role "${b.role_name}"`, `bindings[${i}].role_name`);
      }
      added += insertBinding.run(b.account_name, b.role_name, b.namespace ?? '', isAccountPattern(b.account_name) ? 1 : 0).changes;
    });
    return { roles: state.roles.length, bindings: added };
  })();
  store.invalidate();
  return counts;
}
