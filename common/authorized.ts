/**
 * The `/authorized` contract shared by authz-server (which answers it) and authn-server (which asks it).
 * Shape follows cesanta/docker_auth's ext_authz input so `scripts/ext_authz.sh` can forward it as is.
 *
 * Reply: 200 `{allowed: true, actions}` when every requested action is granted (actions = all requested),
 * 403 `{allowed: false, actions}` otherwise (actions = the granted subset, possibly empty).
 * A malformed request is a 400 naming the field: besides the shape, a `repository` Name must follow
 * distribution's name grammar and any other Name must be NFC without control characters or lone
 * surrogates (common/names.ts) — authn checks scopes itself, other clients (the docker_auth bridge)
 * do not. The Account must be free of control characters and lone surrogates.
 */
import { z } from 'zod';
import { nameProblem, repositoryNameProblem } from './names.js';

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
  .strict()
  .superRefine((req, ctx) => {
    const name = req.Type === 'repository' ? repositoryNameProblem(req.Name) : nameProblem(req.Name);
    if (name) ctx.addIssue({ code: 'custom', path: ['Name'], message: name, input: req.Name });
    // Not NFC-checked: a user name from a users file is what it is; it simply matches no NFC binding.
    const account = nameProblem(req.Account.normalize('NFC'));
    if (account) ctx.addIssue({ code: 'custom', path: ['Account'], message: account, input: req.Account });
  });

export type AuthorizedRequest = z.infer<typeof AuthorizedRequestSchema>;

export interface AuthorizedResponse {
  allowed: boolean;
  /** Sorted. All requested actions when allowed; the granted subset otherwise. */
  actions: string[];
}

/** Path of the decision endpoint on authz-server. */
export const AUTHORIZED_PATH = '/authorized';
