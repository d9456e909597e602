/**
 * Scoped API tokens: what `POST /tokens` accepts. Namespaces are exact Kubernetes namespace names,
 * globs of them (`team-*`), or `*` for all; no entry may be covered by another (a scope says each
 * namespace once). Abilities come from auth/principal.ts.
 */
import { z } from 'zod';
import { ABILITIES, scopeCovers } from '../auth/principal.js';
import { parseTemplate, PatternError } from '../policy/pattern.js';
import { durationIn } from '../common-schema.js';

export const TOKEN_PREFIX = 'tgt_';
export const TOKEN_TTL_RANGE = { min: 60, max: 2 * 366 * 86400 } as const;

export const TokenNameSchema = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/, 'must be 1-63 letters, digits, ".", "_" or "-", starting with a letter or digit');

const ScopeEntrySchema = z
  .string()
  .regex(/^(\*|[a-z0-9*?]([-a-z0-9*?]{0,61}[a-z0-9*?])?)$/, 'must be a namespace name, a glob of one (team-*), or * for all')
  .superRefine((v, ctx) => {
    try {
      parseTemplate(v, false);
    } catch (e) {
      if (!(e instanceof PatternError)) throw e;
      ctx.addIssue({ code: 'custom', message: `invalid namespace glob "${v}": ${e.message}` });
    }
  });

export const NamespaceScopeSchema = z
  .array(ScopeEntrySchema)
  .min(1, 'give at least one namespace (or "*" for all)')
  .max(64)
  .superRefine((list, ctx) => {
    list.forEach((a, i) => {
      const other = list.findIndex((b, j) => j !== i && (a === b ? j < i : scopeCovers(b, a)));
      if (other >= 0) ctx.addIssue({ code: 'custom', path: [i], message: `"${a}" overlaps "${list[other]}" (each namespace once: drop one of them)` });
    });
  });

export const AbilitiesSchema = z
  .array(z.enum(ABILITIES, { error: `unknown ability (one of: ${ABILITIES.join(', ')})` }))
  .min(1, `give at least one ability (${ABILITIES.join(', ')})`)
  .refine((a) => new Set(a).size === a.length, 'duplicate ability')
  .transform((a) => [...a].sort());

export const CreateTokenSchema = z
  .object({
    name: TokenNameSchema,
    namespaces: NamespaceScopeSchema,
    abilities: AbilitiesSchema,
    ttl: durationIn(TOKEN_TTL_RANGE.min, TOKEN_TTL_RANGE.max, 'ttl').optional(),
  })
  .strict();
