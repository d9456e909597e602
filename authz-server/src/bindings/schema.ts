/**
 * Bindings: account (exact, `<anonymous>`, or a glob / `/regex/` pattern) → role, optionally in a namespace.
 */
import { z } from 'zod';
import { parseTemplate, PatternError } from '../policy/pattern.js';
import { RoleNameSchema, storedName } from '../roles/schema.js';
import { ROBOT_PREFIX } from '../../../common/robots.js';

/** Reserved account name that binds requests made without credentials (`Account: ""`). */
export const ANONYMOUS = '<anonymous>';

/** Whether an account name is a pattern (matched against every account) rather than one account. */
export function isAccountPattern(name: string): boolean {
  return name.includes('*') || name.includes('?') || (name.length >= 2 && name.startsWith('/') && name.endsWith('/'));
}

export const AccountNameSchema = storedName(
  z.string().min(1, `must not be empty (bind "${ANONYMOUS}" for anonymous requests)`).max(512, 'must be at most 512 characters'),
).superRefine((val, ctx) => {
  if (!isAccountPattern(val)) return;
  try {
    parseTemplate(val, false);
  } catch (e) {
    if (!(e instanceof PatternError)) throw e;
    ctx.addIssue({ code: 'custom', message: `invalid account pattern "${val}": ${e.message}` });
  }
});

export const NamespaceSchema = storedName(
  z.string().min(1, 'must not be empty (leave it out for a binding without namespace)').max(256, 'must be at most 256 characters'),
);

export const BindingSchema = z
  .object({
    account_name: AccountNameSchema,
    role_name: RoleNameSchema,
    namespace: NamespaceSchema.nullable().optional(),
  })
  .strict();

export type BindingInput = z.infer<typeof BindingSchema>;

/**
 * A binding to create (REST, import): never for a `robot:` account — robots get exactly their grants
 * from the robot table, and `/authorized` ignores role bindings for them, so such a binding would only
 * make `/explain` disagree with `/authorized`. (Deleting one left from older versions stays possible.)
 */
export const NewBindingSchema = BindingSchema.superRefine((b, ctx) => {
  if (b.account_name.startsWith(ROBOT_PREFIX)) {
    ctx.addIssue({
      code: 'custom',
      path: ['account_name'],
      message: `"${ROBOT_PREFIX}" accounts cannot be bound to roles: a robot's grants come from the robot table (POST /robots)`,
    });
  }
});

export const BindingQuerySchema = z
  .object({
    account: z.string().max(512).optional(),
    role: z.string().max(128).optional(),
    namespace: z.string().max(256).optional(),
    /** Substring filter over account, role and namespace. */
    q: z.string().max(512, 'must be at most 512 characters').optional(),
    limit: z.coerce.number().int().min(1).max(10000).optional(),
    after: z.coerce.number().int().min(0).optional(),
  })
  .strict();
