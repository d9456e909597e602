/**
 * Server configuration: flags win over `TOLLGATE_AUTHN_*` environment variables; validated once at
 * start with messages naming the flag and its variable. Every default lives in DEFAULTS.
 */
import type { BlockList } from 'node:net';
import { z } from 'zod';
import { parseDurationSeconds } from '../../common/duration.js';
import { durationSecondsField, httpUrlField, k8sApiUrlField, listenField, parsedString } from '../../common/config-fields.js';
import { readSecretFile, requireLongToken } from '../../common/secret.js';
import { MAX_DECISION_CACHE_TTL_MS } from './authz-client/cache.js';
import { parseCidrs } from './request/client-ip.js';
import { DNS_SUBDOMAIN } from '../../common/names.js';

export interface ServeFlags {
  listen?: string;
  authzUrl?: string;
  authzTokenFile?: string;
  metricsTokenFile?: string;
  issuer?: string;
  service?: string[];
  key?: string;
  cert?: string;
  extraCert?: string[];
  kidFormat?: string;
  /** commander's `--no-x5c` sets this to false. */
  x5c?: boolean;
  users?: string;
  htpasswd?: string;
  oidcIssuers?: string;
  tokenTtl?: string;
  refreshTtl?: string;
  trustProxy?: string;
  anonymous?: boolean;
  decisionCacheTtl?: string;
  /** commander's `--no-change-feed` sets this to false. */
  changeFeed?: boolean;
  realm?: string;
  logLevel?: string;
  k8sSecrets?: boolean;
  k8sSecretName?: string;
  k8sSecretRegistryHost?: string;
  k8sAccountPrefix?: string;
  k8sSecretsMode?: string;
  k8sApiUrl?: string;
  k8sTokenFile?: string;
  k8sCaFile?: string;
  k8sStaleAfter?: string;
  bcryptWorkers?: string;
  bcryptQueue?: string;
  uncachedPerIp?: string;
  accountFailuresPerHour?: string;
}

export const DEFAULTS = {
  listen: '127.0.0.1:5002',
  authzUrl: 'http://127.0.0.1:5001',
  issuer: 'tollgate',
  service: 'tollgate-registry',
  kidFormat: 'libtrust',
  tokenTtl: '5m',
  refreshTtl: '30d',
  /** Upper bound only: the change feed drops entries within ~1 s of a change; this reclaims idle ones. */
  decisionCacheTtl: '60s',
  realm: 'tollgate',
  logLevel: 'info',
  k8sSecretName: 'tollgate-registry',
  k8sAccountPrefix: 'namespace:',
  k8sSecretsMode: 'watch',
  k8sStaleAfter: '30s',
  /** Per client IP and minute; a burst of 10 is always allowed. */
  uncachedPerIp: '60',
  /** Per account, from addresses that never logged in as it, after a burst of 10 (throttle/account-guard.ts). */
  accountFailuresPerHour: '12',
} as const;

const ConfigSchema = z.object({
  listen: listenField(),
  authzUrl: httpUrlField(),
  authzToken: z.string().min(1).optional(),
  metricsToken: z.string().regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces (it is sent as "Authorization: Bearer <token>")').optional(),
  issuer: z.string().min(1, 'must not be empty').max(256),
  services: z.array(z.string().min(1, 'must not be empty').max(256)).min(1),
  key: z.string({ error: 'is required: the PEM private key that signs tokens (create one with `npx tollgate keys generate --out data/keys`)' }).min(1),
  cert: z.string().min(1).optional(),
  extraCerts: z.array(z.string().min(1)),
  kidFormat: z.enum(['libtrust', 'thumbprint']),
  x5c: z.boolean(),
  users: z.string().min(1).optional(),
  htpasswd: z.string().min(1).optional(),
  oidcIssuers: z.string().min(1).optional(),
  // Whole seconds: exp/iat/nbf are NumericDate integers to the registry — a fractional ttl once made every token invalid.
  tokenTtlSec: durationSecondsField(60, 86400),
  refreshTtlSec: durationSecondsField(60, 366 * 86400),
  trustProxy: parsedString(parseCidrs).optional(),
  anonymous: z.boolean(),
  decisionCacheTtlMs: parsedString((v) => {
    const ms = Math.round(parseDurationSeconds(v) * 1000);
    if (ms > MAX_DECISION_CACHE_TTL_MS) throw new Error(`"${v}" is above the 1h maximum`);
    return ms;
  }),
  changeFeed: z.boolean(),
  realm: z.string().min(1).max(256),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
  k8sSecrets: z.boolean(),
  k8sSecretName: z.string().regex(DNS_SUBDOMAIN, 'must be a Kubernetes object name (lowercase letters, digits, "-", ".")'),
  k8sSecretRegistryHost: z.string().min(1).max(253).optional(),
  k8sAccountPrefix: z.string().max(64).regex(/^[^\u0000-\u001f\u007f]*$/, 'must not contain control characters'),
  k8sSecretsMode: z.enum(['watch', 'get']),
  k8sApiUrl: k8sApiUrlField().optional(),
  k8sTokenFile: z.string().min(1).optional(),
  k8sCaFile: z.string().min(1).optional(),
  k8sStaleAfterSec: durationSecondsField(5, 600),
  bcryptWorkers: z.coerce.number().int('must be a whole number').min(1).max(64).optional(),
  bcryptQueue: z.coerce.number().int('must be a whole number').min(0).max(100_000).optional(),
  uncachedPerIp: z.coerce.number().int('must be a whole number').min(1).max(1_000_000),
  accountFailuresPerHour: z.coerce.number().int('must be a whole number').min(1).max(100_000),
});

export type Config = Omit<z.infer<typeof ConfigSchema>, 'trustProxy'> & { trustProxy?: BlockList | undefined };

const FLAG_NAMES: Record<string, string> = {
  listen: '--listen / TOLLGATE_AUTHN_LISTEN',
  authzUrl: '--authz-url / TOLLGATE_AUTHN_AUTHZ_URL',
  issuer: '--issuer / TOLLGATE_AUTHN_ISSUER',
  services: '--service / TOLLGATE_AUTHN_SERVICE',
  key: '--key / TOLLGATE_AUTHN_KEY',
  cert: '--cert / TOLLGATE_AUTHN_CERT',
  extraCerts: '--extra-cert / TOLLGATE_AUTHN_EXTRA_CERT',
  kidFormat: '--kid-format / TOLLGATE_AUTHN_KID_FORMAT',
  users: '--users / TOLLGATE_AUTHN_USERS',
  htpasswd: '--htpasswd / TOLLGATE_AUTHN_HTPASSWD',
  oidcIssuers: '--oidc-issuers / TOLLGATE_AUTHN_OIDC_ISSUERS',
  tokenTtlSec: '--token-ttl / TOLLGATE_AUTHN_TOKEN_TTL',
  refreshTtlSec: '--refresh-ttl / TOLLGATE_AUTHN_REFRESH_TTL',
  trustProxy: '--trust-proxy / TOLLGATE_AUTHN_TRUST_PROXY',
  decisionCacheTtlMs: '--decision-cache-ttl / TOLLGATE_AUTHN_DECISION_CACHE_TTL',
  changeFeed: '--no-change-feed / TOLLGATE_AUTHN_CHANGE_FEED',
  realm: '--realm / TOLLGATE_AUTHN_REALM',
  logLevel: '--log-level / TOLLGATE_AUTHN_LOG_LEVEL',
  k8sSecretName: '--k8s-secret-name / TOLLGATE_AUTHN_K8S_SECRET_NAME',
  k8sSecretRegistryHost: '--k8s-secret-registry-host / TOLLGATE_AUTHN_K8S_SECRET_REGISTRY_HOST',
  k8sAccountPrefix: '--k8s-account-prefix / TOLLGATE_AUTHN_K8S_ACCOUNT_PREFIX',
  k8sSecretsMode: '--k8s-secrets-mode / TOLLGATE_AUTHN_K8S_SECRETS_MODE',
  k8sApiUrl: '--k8s-api-url / TOLLGATE_AUTHN_K8S_API_URL',
  k8sTokenFile: '--k8s-token-file / TOLLGATE_AUTHN_K8S_TOKEN_FILE',
  k8sCaFile: '--k8s-ca-file / TOLLGATE_AUTHN_K8S_CA_FILE',
  k8sStaleAfterSec: '--k8s-stale-after / TOLLGATE_AUTHN_K8S_STALE_AFTER',
  metricsToken: '--metrics-token-file / TOLLGATE_AUTHN_METRICS_TOKEN_FILE / TOLLGATE_AUTHN_METRICS_TOKEN',
  bcryptWorkers: '--bcrypt-workers / TOLLGATE_AUTHN_BCRYPT_WORKERS',
  bcryptQueue: '--bcrypt-queue / TOLLGATE_AUTHN_BCRYPT_QUEUE',
  uncachedPerIp: '--uncached-per-ip / TOLLGATE_AUTHN_UNCACHED_PER_IP',
  accountFailuresPerHour: '--account-failures-per-hour / TOLLGATE_AUTHN_ACCOUNT_FAILURES_PER_HOUR',
};

const list = (v: string | undefined): string[] | undefined => (v === undefined ? undefined : v.split(',').map((s) => s.trim()).filter(Boolean));

function envBool(env: NodeJS.ProcessEnv, name: string): boolean {
  const v = (env[name] ?? '').trim().toLowerCase();
  if (['', '0', 'false', 'no', 'off'].includes(v)) return false;
  if (['1', 'true', 'yes', 'on'].includes(v)) return true;
  throw new Error(`invalid ${name}: "${env[name]}" (use true or false)`);
}

function metricsToken(flags: ServeFlags, env: NodeJS.ProcessEnv): string | undefined {
  if (flags.metricsTokenFile) return readSecretFile(flags.metricsTokenFile, 'metrics token');
  if (env.TOLLGATE_AUTHN_METRICS_TOKEN_FILE) return readSecretFile(env.TOLLGATE_AUTHN_METRICS_TOKEN_FILE, 'metrics token');
  return env.TOLLGATE_AUTHN_METRICS_TOKEN?.trim() || undefined;
}

function authzToken(flags: ServeFlags, env: NodeJS.ProcessEnv): string | undefined {
  if (flags.authzTokenFile) return readSecretFile(flags.authzTokenFile, 'authz client token');
  if (env.TOLLGATE_AUTHN_AUTHZ_TOKEN_FILE) return readSecretFile(env.TOLLGATE_AUTHN_AUTHZ_TOKEN_FILE, 'authz client token');
  return env.TOLLGATE_AUTHN_AUTHZ_TOKEN?.trim() || undefined;
}

/** Builds and validates the config; throws an Error whose message says what to fix. */
export function loadConfig(flags: ServeFlags, env: NodeJS.ProcessEnv = process.env): Config {
  const e = (k: string) => env[`TOLLGATE_AUTHN_${k}`];
  const raw = {
    listen: flags.listen ?? e('LISTEN') ?? DEFAULTS.listen,
    authzUrl: flags.authzUrl ?? e('AUTHZ_URL') ?? DEFAULTS.authzUrl,
    authzToken: authzToken(flags, env),
    metricsToken: metricsToken(flags, env),
    issuer: flags.issuer ?? e('ISSUER') ?? DEFAULTS.issuer,
    services: flags.service?.length ? flags.service : (list(e('SERVICE')) ?? [DEFAULTS.service]),
    key: flags.key ?? e('KEY'),
    cert: flags.cert ?? e('CERT'),
    extraCerts: flags.extraCert?.length ? flags.extraCert : (list(e('EXTRA_CERT')) ?? []),
    kidFormat: flags.kidFormat ?? e('KID_FORMAT') ?? DEFAULTS.kidFormat,
    x5c: flags.x5c !== false && !envBool(env, 'TOLLGATE_AUTHN_NO_X5C'),
    users: flags.users ?? e('USERS'),
    htpasswd: flags.htpasswd ?? e('HTPASSWD'),
    oidcIssuers: flags.oidcIssuers ?? e('OIDC_ISSUERS'),
    tokenTtlSec: flags.tokenTtl ?? e('TOKEN_TTL') ?? DEFAULTS.tokenTtl,
    refreshTtlSec: flags.refreshTtl ?? e('REFRESH_TTL') ?? DEFAULTS.refreshTtl,
    trustProxy: flags.trustProxy ?? e('TRUST_PROXY'),
    anonymous: flags.anonymous === true || envBool(env, 'TOLLGATE_AUTHN_ANONYMOUS'),
    decisionCacheTtlMs: flags.decisionCacheTtl ?? e('DECISION_CACHE_TTL') ?? DEFAULTS.decisionCacheTtl,
    changeFeed: flags.changeFeed !== false && (env.TOLLGATE_AUTHN_CHANGE_FEED === undefined || envBool(env, 'TOLLGATE_AUTHN_CHANGE_FEED')),
    realm: flags.realm ?? e('REALM') ?? DEFAULTS.realm,
    logLevel: flags.logLevel ?? e('LOG_LEVEL') ?? env.TOLLGATE_LOG_LEVEL ?? DEFAULTS.logLevel,
    k8sSecrets: flags.k8sSecrets === true || envBool(env, 'TOLLGATE_AUTHN_K8S_SECRETS'),
    k8sSecretName: flags.k8sSecretName ?? e('K8S_SECRET_NAME') ?? DEFAULTS.k8sSecretName,
    k8sSecretRegistryHost: flags.k8sSecretRegistryHost ?? e('K8S_SECRET_REGISTRY_HOST'),
    k8sAccountPrefix: flags.k8sAccountPrefix ?? e('K8S_ACCOUNT_PREFIX') ?? DEFAULTS.k8sAccountPrefix,
    k8sSecretsMode: flags.k8sSecretsMode ?? e('K8S_SECRETS_MODE') ?? DEFAULTS.k8sSecretsMode,
    k8sApiUrl: flags.k8sApiUrl ?? e('K8S_API_URL'),
    k8sTokenFile: flags.k8sTokenFile ?? e('K8S_TOKEN_FILE'),
    k8sCaFile: flags.k8sCaFile ?? e('K8S_CA_FILE'),
    k8sStaleAfterSec: flags.k8sStaleAfter ?? e('K8S_STALE_AFTER') ?? DEFAULTS.k8sStaleAfter,
    bcryptWorkers: flags.bcryptWorkers ?? e('BCRYPT_WORKERS'),
    bcryptQueue: flags.bcryptQueue ?? e('BCRYPT_QUEUE'),
    uncachedPerIp: flags.uncachedPerIp ?? e('UNCACHED_PER_IP') ?? DEFAULTS.uncachedPerIp,
    accountFailuresPerHour: flags.accountFailuresPerHour ?? e('ACCOUNT_FAILURES_PER_HOUR') ?? DEFAULTS.accountFailuresPerHour,
  };
  const r = ConfigSchema.safeParse(raw);
  if (!r.success) {
    const issue = r.error.issues[0];
    const key = String(issue?.path[0] ?? '');
    throw new Error(`invalid ${FLAG_NAMES[key] ?? key}: ${issue?.message ?? 'invalid value'}`);
  }
  // Refresh tokens carry this audience: a registry configured with it would accept them as access tokens.
  if (r.data.services.includes(`${r.data.issuer}/refresh`)) throw new Error(`invalid ${FLAG_NAMES.services}: "${r.data.issuer}/refresh" is the audience of refresh tokens; pick another service name`);
  requireLongToken(r.data.authzToken, 'authz client token (--authz-token-file / TOLLGATE_AUTHN_AUTHZ_TOKEN_FILE / TOLLGATE_AUTHN_AUTHZ_TOKEN)');
  requireLongToken(r.data.metricsToken, 'metrics token (--metrics-token-file / TOLLGATE_AUTHN_METRICS_TOKEN_FILE / TOLLGATE_AUTHN_METRICS_TOKEN)');
  if (!r.data.users && !r.data.htpasswd && !r.data.oidcIssuers && !r.data.k8sSecrets && !r.data.anonymous) {
    throw new Error('no credential source: pass --users FILE, --htpasswd FILE and/or --oidc-issuers FILE (or TOLLGATE_AUTHN_USERS / TOLLGATE_AUTHN_HTPASSWD / TOLLGATE_AUTHN_OIDC_ISSUERS), --k8s-secrets, or --anonymous for anonymous access only');
  }
  // File user names cannot contain ":", so a prefix with one keeps namespace accounts apart from them.
  if (r.data.k8sSecrets && !r.data.k8sAccountPrefix.includes(':')) throw new Error(`invalid ${FLAG_NAMES.k8sAccountPrefix}: must contain ":" (e.g. "namespace:") so accounts cannot collide with users-file names`);
  return r.data;
}
