/**
 * The issuers file (`--oidc-issuers`): which JWT issuers may log in, and how their tokens are checked.
 *
 * Rules enforced at load (each error names the path of the offending value):
 * - unknown keys refused (a typo must not silently weaken a check); `name` is `[a-z0-9-]{1,63}`;
 * - names, user names and account prefixes unique across issuers;
 * - `audiences` required and non-empty (a token minted for another service must never log in);
 * - `algorithms` only RS/PS/ES asymmetric ones: `none` and HS* are refused;
 * - http:// issuer or JWKS URLs only with `insecure: true` (and a warning at every load);
 * - `tokenReview: true` is refused: this version cannot ask the API server yet, and accepting the key
 *   would let an operator believe a deleted pod's token stops working.
 */
import { z } from 'zod';
import { httpUrlField } from '../../../../common/config-fields.js';
import { parseDurationSeconds } from '../../../../common/duration.js';
import { ROBOT_CREDENTIAL_LABEL } from '../../../../common/robots.js';
import { USERNAME_HINT, userNameProblem } from '../limits.js';
import { parseYamlFile } from '../yaml-file.js';

const ALLOWED_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512'] as const;
export type Algorithm = (typeof ALLOWED_ALGORITHMS)[number];

const duration = (max: number) =>
  z.union([z.string(), z.number()]).transform((v, ctx) => {
    try {
      const s = typeof v === 'number' ? v : parseDurationSeconds(v);
      if (s < 0 || s > max) throw new Error(`must be between 0s and ${max}s`);
      return s;
    } catch (e) {
      ctx.addIssue({ code: 'custom', message: (e as Error).message });
      return z.NEVER;
    }
  });

const url = httpUrlField();

const JwksSchema = z.union([
  z.object({ discovery: z.literal(true) }).strict(),
  z.object({ url }).strict(),
  z.object({ file: z.string().min(1) }).strict(),
], { error: 'must be one of {discovery: true}, {url: URL} or {file: PATH}' });

/** JSON Pointer (RFC 6901) into the claims: `/repository_owner`, `/a~1b/c`. */
const pointer = z.string().regex(/^(\/([^~/]|~[01])*)+$/, 'must be a JSON Pointer such as /repository_owner');

const IssuerSchema = z
  .object({
    name: z.string().regex(/^[a-z0-9-]{1,63}$/, 'must match [a-z0-9-]{1,63}'),
    usernames: z.array(z.string().refine((u) => !userNameProblem(u), USERNAME_HINT)).min(1).optional(),
    issuer: url,
    audiences: z.array(z.string().min(1).max(512), { error: 'is required: the audiences a token must carry one of' }).min(1, 'must not be empty'),
    jwks: JwksSchema.default({ discovery: true }),
    caFile: z.string().min(1).optional(),
    bearerTokenFile: z.string().min(1).optional(),
    algorithms: z.array(z.enum(ALLOWED_ALGORITHMS, { error: (i) => `"${String(i.input)}" is not allowed (use ${ALLOWED_ALGORITHMS.join(', ')})` })).min(1).default(['RS256', 'ES256']),
    clockTolerance: duration(300).default(60),
    maxTokenAge: duration(366 * 86400).default(3600),
    maxLifetime: duration(366 * 86400).default(86400),
    kubernetes: z.boolean().default(true),
    requirePod: z.boolean().default(false),
    accountPrefix: z.string().max(128).default(''),
    labels: z.record(z.string().regex(/^[A-Za-z0-9_.-]{1,128}$/, 'label names are 1-128 of [A-Za-z0-9_.-]'), pointer).default({}),
    tokenReview: z.literal(false, { error: 'true is not supported by this version (TokenReview is not implemented): remove the key or set false' }).default(false),
    insecure: z.boolean().default(false),
  })
  .strict();

export type IssuerConfig = z.infer<typeof IssuerSchema> & { usernames: string[] };

const FileSchema = z.object({ issuers: z.array(IssuerSchema).max(64) }).strict();

/**
 * Labels the Kubernetes verification sets itself, and the robot credential label (authz trusts a `robot:`
 * account only with it, and only authn's robot check sets it): a configured claim label may not set them.
 */
const RESERVED_LABELS = new Set(['issuer', 'namespace', 'serviceaccount', 'pod', ROBOT_CREDENTIAL_LABEL]);

function cross(issuers: IssuerConfig[]): string[] {
  const problems: string[] = [];
  const seen = { name: new Map<string, number>(), user: new Map<string, number>(), prefix: new Map<string, number>() };
  issuers.forEach((iss, i) => {
    const at = `issuers.${i}`;
    const dup = (kind: keyof typeof seen, value: string, path: string, what: string) => {
      const first = seen[kind].get(value);
      if (first !== undefined) problems.push(`${path}: ${what} "${value}" is already used by issuers.${first}`);
      else seen[kind].set(value, i);
    };
    dup('name', iss.name, `${at}.name`, 'name');
    iss.usernames.forEach((u, j) => dup('user', u, `${at}.usernames.${j}`, 'user name'));
    // Two issuers with one prefix could mint the same account: one cluster could act as the other.
    dup('prefix', iss.accountPrefix, `${at}.accountPrefix`, 'account prefix');
    const urls: Array<[string, string]> = [[`${at}.issuer`, iss.issuer]];
    if ('url' in iss.jwks) urls.push([`${at}.jwks.url`, iss.jwks.url]);
    for (const [path, u] of urls) {
      if (u.startsWith('http:') && !iss.insecure) problems.push(`${path}: http:// is only allowed with insecure: true on this issuer`);
    }
    for (const l of Object.keys(iss.labels)) {
      if (l === ROBOT_CREDENTIAL_LABEL) problems.push(`${at}.labels.${l}: "${l}" is reserved (it marks a verified robot secret)`);
      else if (RESERVED_LABELS.has(l)) problems.push(`${at}.labels.${l}: "${l}" is set by the verification itself`);
    }
  });
  return problems;
}

/** Parses issuers-file text; throws with every problem named by path (first ten). */
export function parseIssuersFile(text: string): IssuerConfig[] {
  const file = parseYamlFile(text, FileSchema);
  const issuers = file.issuers.map((i) => ({ ...i, usernames: i.usernames ?? [i.name] }));
  const problems = cross(issuers);
  if (problems.length) throw new Error(problems.slice(0, 10).join('; '));
  return issuers;
}
