/** Request bodies of the role routes. */
import { z } from 'zod';
import { PermissionsInputSchema } from '../policy/permission.js';

// Control characters in names only cause grief in logs and terminals; everything else (unicode) is fine.
export const noControl = (s: string): boolean => !/[\u0000-\u001f\u007f]/.test(s);

export const RoleNameSchema = z
  .string()
  .min(1, 'must not be empty')
  .max(128, 'must be at most 128 characters')
  .refine(noControl, 'must not contain control characters');

export const AddRoleSchema = z.object({ name: RoleNameSchema, permissions: PermissionsInputSchema }).strict();
export const PutRoleSchema = z.object({ name: RoleNameSchema.optional(), permissions: PermissionsInputSchema }).strict();
export const DeleteRoleSchema = z.object({ name: RoleNameSchema, force: z.boolean().optional() }).strict();
