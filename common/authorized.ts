/**
 * The `/authorized` contract shared by authz-server (which answers it) and authn-server (which asks it).
 * Shape follows cesanta/docker_auth's ext_authz input so `scripts/ext_authz.sh` can forward it as is.
 *
 * Reply: 200 `{allowed: true, actions}` when every requested action is granted (actions = all requested),
 * 403 `{allowed: false, actions}` otherwise (actions = the granted subset, possibly empty).
 */
import { z } from 'zod';

/**
 * A JSON object with an own `__proto__` key (JSON.parse makes one) loses it inside zod's output: a
 * label condition or request label would silently vanish. Refuse it, naming `<path>.__proto__`.
 */
export function refuseProtoKey<T extends z.ZodType>(schema: T) {
  return z.preprocess((v, ctx) => {
    if (v !== null && typeof v === 'object' && Object.hasOwn(v, '__proto__')) {
      ctx.addIssue({ code: 'custom', message: 'label key "__proto__" is not allowed', path: ['__proto__'], input: v });
    }
    return v;
  }, schema);
}

export const AuthorizedRequestSchema = z
  .object({
    Account: z.string().max(512),
    Type: z.string().min(1).max(128),
    Name: z.string().max(1024),
    Service: z.string().max(512),
    IP: z.string().max(64),
    Actions: z.array(z.string().min(1).max(64)).max(64),
    // `__proto__` would vanish on the way into a plain object: refuse it instead of silently dropping it.
    Labels: refuseProtoKey(z.record(z.string(), z.array(z.string().max(512)).max(64)).nullable()).optional(),
  })
  .strict();

export type AuthorizedRequest = z.infer<typeof AuthorizedRequestSchema>;

export interface AuthorizedResponse {
  allowed: boolean;
  /** Sorted. All requested actions when allowed; the granted subset otherwise. */
  actions: string[];
}

/** Path of the decision endpoint on authz-server. */
export const AUTHORIZED_PATH = '/authorized';
