/** Request bodies of the role routes. */
import { z } from 'zod';
import { PermissionsInputSchema } from '../policy/permission.js';

// Control characters in names only cause grief in logs and terminals; everything else (unicode) is fine.
export const noControl = (s: string): boolean => !/[\u0000-\u001f\u007f]/.test(s);
// A lone UTF-16 surrogate cannot be stored as UTF-8: SQLite would keep a different name than the one given.
export const wellFormed = (s: string): boolean => !/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(s);
// " ops" and "ops" would be two names that look the same in every listing.
export const trimmed = (s: string): boolean => s.trim() === s;
// "é" as one code point or as "e" + U+0301: two names that look the same; requests are NFC (common/names.ts).
export const nfc = (s: string): boolean => s.normalize('NFC') === s;

/** The checks every stored name (role, account, namespace) gets besides its length. */
export function storedName(schema: z.ZodString): z.ZodType<string> {
  return schema
    .refine(noControl, 'must not contain control characters')
    .refine(wellFormed, 'must be valid Unicode (no lone surrogate)')
    .refine(trimmed, 'must not start or end with whitespace')
    .refine(nfc, 'must be in Unicode normalization form NFC (compose accents: "é", not "e" + U+0301)');
}

export const RoleNameSchema = storedName(z.string().min(1, 'must not be empty').max(128, 'must be at most 128 characters'));

export const AddRoleSchema = z.object({ name: RoleNameSchema, permissions: PermissionsInputSchema }).strict();
export const PutRoleSchema = z.object({ name: RoleNameSchema.optional(), permissions: PermissionsInputSchema }).strict();
export const DeleteRoleSchema = z.object({ name: RoleNameSchema, force: z.boolean().optional() }).strict();
