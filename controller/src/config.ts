/**
 * `tollgate controller` configuration: flags over env (`TOLLGATE_CONTROLLER_*`), validated once by zod
 * with messages naming the flag. Defaults: in-cluster API access, all namespaces may ask for push,
 * one Lease `tollgate-controller` in the pod's namespace.
 */
import { z } from 'zod';
import { durationSecondsField as duration, httpUrlField, k8sApiUrlField, listenField } from '../../common/config-fields.js';
import { DNS_LABEL } from '../../common/names.js';

export const ConfigSchema = z
  .object({
    listen: listenField().prefault('0.0.0.0:8080'),
    k8sApiUrl: k8sApiUrlField().optional(),
    k8sTokenFile: z.string().min(1).optional(),
    k8sCaFile: z.string().min(1).optional(),
    authzUrl: httpUrlField(),
    authzTokenFile: z.string().min(1, 'is required'),
    registryHost: z.string().regex(/^[A-Za-z0-9.-]+(:\d{1,5})?$/, 'must be a registry host[:port]'),
    audience: z.string().min(1).max(512).optional(),
    tokenUsername: z.string().regex(/^[^:\s]{1,256}$/, 'must be a user name without ":"').default('k8s'),
    tokenMaxAge: duration(60, 366 * 86400).default(3600),
    tokenMaxLifetime: duration(600, 366 * 86400).default(86400),
    allowPush: z.array(z.string().regex(/^[a-z0-9*-]{1,63}$/, 'must be a namespace glob (a-z, 0-9, "-", "*")')).min(1).default(['*']),
    workers: z.coerce.number().int().min(1).max(64).default(4),
    resync: duration(10, 86400).default(600),
    leaderElect: z.boolean().default(true),
    leaseNamespace: z.string().regex(DNS_LABEL, 'must be a namespace name').default('tollgate'),
    leaseName: z.string().min(1).max(253).default('tollgate-controller'),
    identity: z.string().min(1).max(128).optional(),
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).optional(),
  })
  .strict();

export type ControllerConfig = z.output<typeof ConfigSchema>;

const ENV: Record<string, string> = {
  listen: 'LISTEN', k8sApiUrl: 'K8S_API_URL', k8sTokenFile: 'K8S_TOKEN_FILE', k8sCaFile: 'K8S_CA_FILE', authzUrl: 'AUTHZ_URL', authzTokenFile: 'AUTHZ_TOKEN_FILE',
  registryHost: 'REGISTRY_HOST', audience: 'AUDIENCE', tokenUsername: 'TOKEN_USERNAME', tokenMaxAge: 'TOKEN_MAX_AGE', tokenMaxLifetime: 'TOKEN_MAX_LIFETIME',
  workers: 'WORKERS', resync: 'RESYNC', leaseNamespace: 'LEASE_NAMESPACE', leaseName: 'LEASE_NAME', logLevel: 'LOG_LEVEL',
};
const FLAG = (k: string) => `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;

/** Flags (commander's camelCase keys) over `TOLLGATE_CONTROLLER_*` env; throws one line per problem, naming the flag. */
export function loadConfig(flags: Record<string, unknown>, env: NodeJS.ProcessEnv = process.env): ControllerConfig {
  const raw: Record<string, unknown> = {};
  for (const [k, e] of Object.entries(ENV)) raw[k] = flags[k] ?? env[`TOLLGATE_CONTROLLER_${e}`];
  const push = flags.allowPush ?? env.TOLLGATE_CONTROLLER_ALLOW_PUSH?.split(',').map((s) => s.trim()).filter(Boolean);
  raw.allowPush = push;
  raw.identity = flags.identity ?? env.POD_NAME;
  raw.leaseNamespace ??= env.POD_NAMESPACE;
  if (flags.leaderElect === false || env.TOLLGATE_CONTROLLER_LEADER_ELECT === 'false') raw.leaderElect = false;
  for (const k of Object.keys(raw)) if (raw[k] === undefined) delete raw[k];
  const r = ConfigSchema.safeParse(raw);
  if (r.success) return r.data;
  throw new Error(r.error.issues.map((i) => `${FLAG(String(i.path[0] ?? 'config'))}: ${i.message}`).join('; '));
}
