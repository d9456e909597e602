/**
 * The robot verify/lookup contract both servers speak (the account prefix and label are in robots.ts).
 * Client token: authz answers it (robots/routes.ts), authn asks it
 * through its one keep-alive authz client (credentials/robots.ts). A failed verify is the same
 * answer, and costs the same, for an unknown name and a wrong secret: robot names are not revealed.
 * `generation` is the id the robot got when it was created: a cached login is valid only for it, so a
 * robot deleted and re-created under the same name never lets the old secret in.
 */
import { z } from 'zod';
import { ACCOUNT_NAME_MAX } from './names.js';

export const ROBOT_VERIFY_PATH = '/robots/verify';
export const ROBOT_LOOKUP_PATH = '/robots/lookup';

/** Longest robot secret either side accepts (authn refuses longer ones with a 400 before asking). */
export const ROBOT_SECRET_MAX_CHARS = 512;

export const RobotVerifyRequestSchema = z.object({ account: z.string().max(ACCOUNT_NAME_MAX), secret: z.string().max(ROBOT_SECRET_MAX_CHARS) }).strict();
export const RobotLookupRequestSchema = z.object({ account: z.string().max(ACCOUNT_NAME_MAX) }).strict();

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

export type RobotVerifyReply = z.infer<typeof RobotVerifyReplySchema>;

/** The `.dockerconfigjson` of a robot credential (the CLI's `-o dockerconfigjson`, the controller's Secrets): docker, containerd and the kubelet read `auth` or user/password. */
export function dockerConfigJson(host: string, username: string, password: string): string {
  const auth = Buffer.from(`${username}:${password}`).toString('base64');
  return JSON.stringify({ auths: { [host]: { username, password, auth } } });
}
