/**
 * Server configuration: flags win over environment variables, validated once at start with
 * messages naming the flag. Tokens come from files (flags or *_FILE env) or from env directly.
 */
import { isIP } from 'node:net';
import { z } from 'zod';
import { listenField } from '../../common/config-fields.js';
import { readSecretFile, requireLongToken } from '../../common/secret.js';

export interface ServeFlags {
  listen?: string;
  db?: string;
  dbPasswordFile?: string;
  adminTokenFile?: string;
  clientTokenFile?: string;
  insecureDev?: boolean;
  logLevel?: string;
  registryHost?: string;
  registryService?: string[];
}

export const DEFAULTS = { listen: '127.0.0.1:5001', db: './data/authz.db', logLevel: 'info', registryService: 'tollgate-registry' } as const;

// A token travels as `Authorization: Bearer <token>`: one run of printable ASCII, or no client could send it.
const tokenSchema = z.string().regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces (it is sent as "Authorization: Bearer <token>")');

const ConfigSchema = z.object({
  listen: listenField(),
  db: z
    .string()
    .min(1, 'must not be empty')
    .superRefine((v, ctx) => {
      if (!/^postgres(ql)?:/i.test(v)) return;
      // Never echo the value: it may hold a password.
      if (!URL.canParse(v) || !/^postgres(ql)?:\/\//i.test(v)) ctx.addIssue({ code: 'custom', message: 'not a valid postgres:// or postgresql:// URL' });
    }),
  dbPassword: z.string().optional(),
  adminToken: tokenSchema.optional(),
  clientToken: tokenSchema.optional(),
  insecureDev: z.boolean(),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
  // What `docker login` needs: host[:port] of the registry (the console prints login lines for it).
  registryHost: z
    .string()
    .max(253, 'must be at most 253 characters')
    .regex(/^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?)(:\d{1,5})?$/, 'must be a registry host[:port], e.g. registry.example.com or 127.0.0.1:5000 (no scheme, no path)')
    .optional(),
  // authn's --service value(s): what the console's Explain page puts in a request's Service.
  registryServices: z.array(z.string().min(1, 'must not be empty').max(256, 'must be at most 256 characters')).min(1),
});

export type Config = z.infer<typeof ConfigSchema>;

const FLAG_NAMES: Record<string, string> = {
  listen: '--listen / TOLLGATE_AUTHZ_LISTEN',
  db: '--db / TOLLGATE_AUTHZ_DB',
  dbPassword: '--db-password-file / TOLLGATE_AUTHZ_DB_PASSWORD_FILE',
  logLevel: '--log-level / TOLLGATE_LOG_LEVEL',
  registryHost: '--registry-host / TOLLGATE_AUTHZ_REGISTRY_HOST',
  registryServices: '--registry-service / TOLLGATE_AUTHZ_REGISTRY_SERVICE',
  adminToken: 'admin token (--admin-token-file / TOLLGATE_AUTHZ_ADMIN_TOKEN_FILE / TOLLGATE_AUTHZ_ADMIN_TOKEN)',
  clientToken: 'client token (--client-token-file / TOLLGATE_AUTHZ_CLIENT_TOKEN_FILE / TOLLGATE_AUTHZ_CLIENT_TOKEN)',
};

function token(file: string | undefined, envFile: string | undefined, envValue: string | undefined, what: string): string | undefined {
  if (file) return readSecretFile(file, what);
  if (envFile) return readSecretFile(envFile, what);
  const v = envValue?.trim();
  return v ? v : undefined;
}

export const MISSING_TOKENS_MESSAGE =
  'authz-server needs an admin token and a client token. Set them with ' +
  '--admin-token-file FILE (or TOLLGATE_AUTHZ_ADMIN_TOKEN / TOLLGATE_AUTHZ_ADMIN_TOKEN_FILE) and ' +
  '--client-token-file FILE (or TOLLGATE_AUTHZ_CLIENT_TOKEN / TOLLGATE_AUTHZ_CLIENT_TOKEN_FILE), ' +
  'e.g. `openssl rand -hex 32 > data/admin.token`. For local development only, --insecure-dev runs without them.';

const dbPassword = (file: string | undefined): string | undefined => (file ? readSecretFile(file, 'database password') : undefined);

const isLoopback = (host: string): boolean => host === 'localhost' || host === '::1' || (isIP(host) === 4 && host.startsWith('127.'));

/** Builds and validates the config; throws an Error whose message says what to fix. */
export function loadConfig(flags: ServeFlags, env: NodeJS.ProcessEnv = process.env): Config {
  const raw = {
    listen: flags.listen ?? env.TOLLGATE_AUTHZ_LISTEN ?? DEFAULTS.listen,
    db: flags.db ?? env.TOLLGATE_AUTHZ_DB ?? DEFAULTS.db,
    dbPassword: dbPassword(flags.dbPasswordFile ?? env.TOLLGATE_AUTHZ_DB_PASSWORD_FILE),
    adminToken: token(flags.adminTokenFile, env.TOLLGATE_AUTHZ_ADMIN_TOKEN_FILE, env.TOLLGATE_AUTHZ_ADMIN_TOKEN, 'admin token'),
    clientToken: token(flags.clientTokenFile, env.TOLLGATE_AUTHZ_CLIENT_TOKEN_FILE, env.TOLLGATE_AUTHZ_CLIENT_TOKEN, 'client token'),
    insecureDev: flags.insecureDev === true,
    logLevel: flags.logLevel ?? env.TOLLGATE_LOG_LEVEL ?? DEFAULTS.logLevel,
    registryHost: flags.registryHost ?? (env.TOLLGATE_AUTHZ_REGISTRY_HOST || undefined),
    registryServices: flags.registryService?.length ? flags.registryService : (env.TOLLGATE_AUTHZ_REGISTRY_SERVICE?.split(',').map((x) => x.trim()) ?? [DEFAULTS.registryService]),
  };
  const r = ConfigSchema.safeParse(raw);
  if (!r.success) {
    const issue = r.error.issues[0];
    const key = String(issue?.path[0] ?? '');
    throw new Error(`invalid ${FLAG_NAMES[key] ?? key}: ${issue?.message ?? 'invalid value'}`);
  }
  const cfg = r.data;
  if (cfg.dbPassword !== undefined && !/^postgres(ql)?:/i.test(cfg.db)) {
    throw new Error('--db-password-file / TOLLGATE_AUTHZ_DB_PASSWORD_FILE only applies to a postgres:// --db URL');
  }
  if (!cfg.insecureDev && (!cfg.adminToken || !cfg.clientToken)) throw new Error(MISSING_TOKENS_MESSAGE);
  if (cfg.insecureDev && (!cfg.adminToken || !cfg.clientToken) && !isLoopback(cfg.listen.host)) {
    throw new Error(
      `--insecure-dev leaves routes open without a token, so it only listens on loopback (127.0.0.1, [::1], localhost), not ${cfg.listen.host}. ` +
        'Configure both tokens to listen elsewhere.',
    );
  }
  if (cfg.adminToken && cfg.adminToken === cfg.clientToken) {
    throw new Error('the admin token and the client token must differ (the client token must not grant admin access)');
  }
  requireLongToken(cfg.adminToken, FLAG_NAMES.adminToken!);
  requireLongToken(cfg.clientToken, FLAG_NAMES.clientToken!);
  return cfg;
}
