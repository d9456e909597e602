/**
 * A permission inside a role: which requests it matches and which actions it grants.
 * Validated (zod + pattern/CIDR parsing) when written; compiled once when a role is loaded.
 */
import { z } from 'zod';
import { refuseProtoKey } from '../../../common/authorized.js';
import { parseTemplate, PatternError, type Template } from './pattern.js';
import { parseIpCondition, type IpMatcher } from './cidr.js';

function patternField(allowVars: boolean) {
  return z
    .string()
    .max(1024)
    .superRefine((val, ctx) => {
      try {
        parseTemplate(val, allowVars);
      } catch (e) {
        if (!(e instanceof PatternError)) throw e;
        ctx.addIssue({ code: 'custom', message: `invalid pattern "${val}": ${e.message}` });
      }
    });
}

const ipField = z
  .string()
  .max(64)
  .superRefine((val, ctx) => {
    try {
      parseIpCondition(val);
    } catch (e) {
      ctx.addIssue({ code: 'custom', message: (e as Error).message });
    }
  });

export const ActionSchema = z
  .string()
  .min(1, 'action must not be empty')
  .max(64)
  .regex(/^[^\s,]+$/, 'action must not contain spaces or commas');

export const PermissionSchema = z
  .object({
    request_type: patternField(false).optional(),
    name: patternField(true).optional(),
    service: patternField(true).optional(),
    ip: ipField.optional(),
    actions: z.array(ActionSchema).min(1, 'list at least one action (e.g. ["pull"] or ["*"])').max(64),
    // A vanished "__proto__" condition would let the permission grant without it: refused instead.
    labels: refuseProtoKey(z.record(z.string().min(1).max(128), patternField(true))).optional(),
  })
  .strict();

export type Permission = z.infer<typeof PermissionSchema>;

/**
 * One permission or an array of them, as `/add-role` accepts; always an array after parsing
 * (a lone object is validated as `permissions[0]`, so errors name the exact field).
 */
export const PermissionsInputSchema = z.preprocess(
  (v) => (v !== null && typeof v === 'object' && !Array.isArray(v) ? [v] : v),
  z.array(PermissionSchema).min(1, 'list at least one permission').max(256),
);

export interface CompiledPermission {
  readonly raw: Permission;
  readonly type: Template;
  readonly name?: Template;
  readonly service?: Template;
  readonly ip?: IpMatcher;
  readonly labels: ReadonlyArray<readonly [string, Template]>;
  /** True when the permission lists `*`: it grants whatever is requested. */
  readonly all: boolean;
  readonly actions: ReadonlySet<string>;
}

/** Compiles an already validated permission. `request_type` defaults to `repository`. */
export function compilePermission(raw: Permission): CompiledPermission {
  return {
    raw,
    type: parseTemplate(raw.request_type ?? 'repository', false),
    ...(raw.name !== undefined ? { name: parseTemplate(raw.name) } : {}),
    ...(raw.service !== undefined ? { service: parseTemplate(raw.service) } : {}),
    ...(raw.ip !== undefined ? { ip: parseIpCondition(raw.ip) } : {}),
    labels: Object.entries(raw.labels ?? {}).map(([k, v]) => [k, parseTemplate(v)] as const),
    all: raw.actions.includes('*'),
    actions: new Set(raw.actions),
  };
}
