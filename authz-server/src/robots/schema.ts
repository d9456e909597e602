/**
 * Robot accounts: `robot:<namespace>+<name>`. Namespace is an RFC 1123 label (a Kubernetes namespace);
 * name is lowercase letters, digits and `-` (≤ 63), so an account never contains a second `:` (HTTP
 * Basic splits on the first one; PROTOCOL.md §10) nor anything a glob or log would misread.
 */
import { z } from 'zod';
import { DNS_LABEL } from '../../../common/names.js';
import { durationIn, K8sNamespaceSchema } from '../common-schema.js';
import { ROBOT_ACTIONS, type RobotAction } from './actions.js';

export { ROBOT_PREFIX } from '../../../common/robots.js';
import { ROBOT_PREFIX } from '../../../common/robots.js';
export const TTL_RANGE = { min: 3600, max: 2 * 366 * 86400 } as const;
export const OVERLAP_RANGE = { min: 0, max: 30 * 86400, default: 86400 } as const;

export const RobotNameSchema = z.string().regex(DNS_LABEL, 'must be lowercase letters, digits and "-", at most 63, starting and ending with a letter or digit');

/** `["pull"]` or `["pull","push"]` (order-free, no duplicates); push without pull is refused. */
export const ActionsSchema = z
  .array(z.enum(ROBOT_ACTIONS, { error: 'unknown action (robots may have "pull" and "push")' }))
  .min(1, 'give at least "pull"')
  .refine((a) => new Set(a).size === a.length, 'duplicate action')
  .refine((a) => a.includes('pull'), 'a robot that pushes must also pull: use ["pull"] or ["pull","push"]')
  .transform((a) => [...a].sort() as RobotAction[]);

export const CreateRobotSchema = z
  .object({
    namespace: K8sNamespaceSchema,
    name: RobotNameSchema,
    actions: ActionsSchema,
    ttl: durationIn(TTL_RANGE.min, TTL_RANGE.max, 'ttl').optional(),
  })
  .strict();

export const RotateRobotSchema = z.object({ overlap: durationIn(OVERLAP_RANGE.min, OVERLAP_RANGE.max, 'overlap').optional() }).strict();

/** The verify/lookup bodies: the contract both servers share (common/robots.ts). */
export { RobotVerifyRequestSchema as VerifySchema, RobotLookupRequestSchema as LookupSchema } from '../../../common/robot-contract.js';

export { robotAccount } from '../../../common/robots.js';

/** `robot:<ns>+<name>` → parts, or null when it is not a well-formed robot account. */
export function parseRobotAccount(account: string): { namespace: string; name: string } | null {
  if (!account.startsWith(ROBOT_PREFIX)) return null;
  const rest = account.slice(ROBOT_PREFIX.length);
  const plus = rest.indexOf('+');
  if (plus < 0) return null;
  const namespace = rest.slice(0, plus);
  const name = rest.slice(plus + 1);
  return DNS_LABEL.test(namespace) && DNS_LABEL.test(name) ? { namespace, name } : null;
}
