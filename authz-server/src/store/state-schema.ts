/** The export/import file format, shared by both engines. */
import { z } from 'zod';
import { AuthzError } from '../errors.js';
import { PermissionsInputSchema, type Permission } from '../policy/permission.js';
import { RoleNameSchema } from '../roles/schema.js';
import { NewBindingSchema } from '../bindings/schema.js';
import { RobotsStateSchema } from '../robots/state.js';

export const STATE_VERSION = 1;

export const StateSchema = z
  .object({
    version: z.literal(STATE_VERSION),
    exported_at: z.string().optional(),
    roles: z.array(z.object({ name: RoleNameSchema, permissions: PermissionsInputSchema }).strict()),
    bindings: z.array(NewBindingSchema),
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

/** Checks what the schema cannot: a role name appears once. Returns the names in the file. */
export function roleNamesOf(state: State): Set<string> {
  const names = new Set<string>();
  state.roles.forEach((r, i) => {
    if (names.has(r.name)) throw new AuthzError(400, 'invalid_request', `role "${r.name}" appears twice`, `roles[${i}].name`);
    names.add(r.name);
  });
  return names;
}
