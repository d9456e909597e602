/**
 * What authn and authz both know about robot accounts (authz-server keeps them; authn verifies their
 * secrets through authz). Declared once here: the account prefix, and the label authn sets on a login it
 * verified as a robot secret. authz decides a `robot:` account from its robot table only when the request
 * carries that label, so the label key is reserved: no other credential source (an issuer's claim labels,
 * a users file) may set it.
 */
import { z } from 'zod';

export const ROBOT_PREFIX = 'robot:';

/** Label key authn sets (`{credential: ['robot']}`) on a verified robot login; reserved for that use. */
export const ROBOT_CREDENTIAL_LABEL = 'credential';
export const ROBOT_CREDENTIAL_VALUE = 'robot';

/**
 * The robot verify/lookup contract (client token): authz answers it (robots/routes.ts), authn asks it
 * through its one keep-alive authz client (credentials/robots-backend.ts). A failed verify is the same
 * answer, and costs the same, for an unknown name and a wrong secret: robot names are not revealed.
 * `generation` is the id the robot got when it was created: a cached login is valid only for it, so a
 * robot deleted and re-created under the same name never lets the old secret in.
 */
export const ROBOT_VERIFY_PATH = '/robots/verify';
export const ROBOT_LOOKUP_PATH = '/robots/lookup';

export const RobotVerifyRequestSchema = z.object({ account: z.string().max(256), secret: z.string().max(512) }).strict();
export const RobotLookupRequestSchema = z.object({ account: z.string().max(256) }).strict();

export const RobotVerifyReplySchema = z.union([
  z.object({
    valid: z.literal(true),
    known: z.literal(true).optional(),
    credential_id: z.string().min(1),
    namespace: z.string(),
    actions: z.array(z.string()),
    /** Unix seconds the login stops being valid (the robot's expiry, or the overlap end of a previous secret). */
    not_after: z.number().nullable(),
    generation: z.string().min(1).optional(),
  }),
  z.object({ valid: z.literal(false), known: z.boolean().optional() }),
]);
export const RobotLookupReplySchema = z.union([
  z.object({ known: z.literal(true), credential_id: z.string().min(1), not_after: z.number().nullable(), generation: z.string().min(1).optional() }),
  z.object({ known: z.literal(false) }),
]);

export type RobotVerifyRequest = z.infer<typeof RobotVerifyRequestSchema>;
export type RobotVerifyReply = z.infer<typeof RobotVerifyReplySchema>;
export type RobotLookupReply = z.infer<typeof RobotLookupReplySchema>;
