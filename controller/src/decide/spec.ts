/**
 * What a RegistryCredential may ask for, checked before anything is written (a refused spec leaves no
 * partial credential). Each refusal names the field (`spec.rotateEvery`, `metadata.name`) so
 * `kubectl describe` tells the tenant what to fix. Pure: no API server, no clock.
 */
import { parseDurationSeconds } from '../../../common/duration.js';
import { isObject } from '../../../common/is-object.js';
import { DNS_LABEL, DNS_SUBDOMAIN } from '../../../common/names.js';

export const CR = { group: 'registry.tollgate.dev', version: 'v1alpha1', kind: 'RegistryCredential', plural: 'registrycredentials' } as const;
export const API_VERSION = `${CR.group}/${CR.version}`;
export const FINALIZER = 'registry.tollgate.dev/cleanup';

/** authz's limits (authz-server/src/robots/schema.ts): overlap 0 … 30 d; names are RFC 1123 labels. */
export const LIMITS = { minRotateEvery: 10, maxOverlap: 30 * 86400, minExpiration: 600, defaultRotateEvery: 86400, defaultExpiration: 3600 } as const;

export type RobotSpec = {
  type: 'Robot';
  actions: Array<'pull' | 'push'>;
  secretName: string;
  rotateEvery: number;
  overlap: number;
  serviceAccounts: string[];
};
export type TokenSpec = {
  type: 'ServiceAccountToken';
  secretName: string;
  serviceAccountName: string;
  expirationSeconds: number;
  serviceAccounts: string[];
};
export type Spec = RobotSpec | TokenSpec;
export type SpecResult = { ok: true; spec: Spec } | { ok: false; field: string; message: string };

export interface SpecPolicy {
  /** The issuer's maxLifetime in authn's issuers file: the longest token authn accepts. */
  maxExpiration: number;
  /** May this namespace ask for push? (`--allow-push`). */
  pushAllowed: (namespace: string) => boolean;
}

const bad = (field: string, message: string): SpecResult => ({ ok: false, field, message: `${field}: ${message}` });

function duration(v: unknown, field: string, dflt: number): number | string {
  if (v === undefined) return dflt;
  if (typeof v !== 'string' && typeof v !== 'number') return `${field}: must be a duration such as 24h, 90m or 30s`;
  try {
    const s = typeof v === 'number' ? v : parseDurationSeconds(v);
    return Number.isFinite(s) ? s : `${field}: must be a finite duration`;
  } catch (e) {
    return `${field}: ${(e as Error).message}`;
  }
}

function names(v: unknown, field: string): string[] | string {
  if (v === undefined) return [];
  if (!Array.isArray(v) || v.length > 32) return `${field}: must be a list of at most 32 service account names`;
  for (const [i, n] of v.entries()) if (typeof n !== 'string' || !DNS_SUBDOMAIN.test(n)) return `${field}[${i}]: must be a service account name`;
  return [...new Set(v as string[])];
}

function secretName(spec: Record<string, unknown>, name: string): string | SpecResult {
  const s = spec.secretName ?? `${name}-registry`;
  if (typeof s !== 'string' || !DNS_SUBDOMAIN.test(s)) return bad('spec.secretName', 'must be a Secret name (lowercase DNS subdomain, at most 253)');
  return s;
}

function robotSpec(spec: Record<string, unknown>, ns: string, name: string, policy: SpecPolicy, sn: string, sas: string[]): SpecResult {
  if (!DNS_LABEL.test(name)) return bad('metadata.name', `"${name.slice(0, 80)}" cannot name a robot: use lowercase letters, digits and "-", at most 63`);
  const actions = spec.actions ?? ['pull'];
  if (!Array.isArray(actions) || actions.length === 0 || actions.some((a) => a !== 'pull' && a !== 'push')) return bad('spec.actions', 'must be a non-empty subset of [pull, push]');
  if (new Set(actions).size !== actions.length) return bad('spec.actions', 'lists an action twice');
  if (actions.includes('push') && !actions.includes('pull')) return bad('spec.actions', 'a robot that pushes must also pull: use [pull, push]');
  if (actions.includes('push') && !policy.pushAllowed(ns)) return bad('spec.actions', `push is not allowed in namespace "${ns}" (controller flag --allow-push)`);
  const every = duration(spec.rotateEvery, 'spec.rotateEvery', LIMITS.defaultRotateEvery);
  if (typeof every === 'string') return { ok: false, field: 'spec.rotateEvery', message: every };
  if (every < LIMITS.minRotateEvery) return bad('spec.rotateEvery', `must be at least ${LIMITS.minRotateEvery}s`);
  const overlap = duration(spec.overlap, 'spec.overlap', Math.min(3600, Math.floor(every / 2)));
  if (typeof overlap === 'string') return { ok: false, field: 'spec.overlap', message: overlap };
  if (overlap < 0 || overlap >= every) return bad('spec.overlap', 'must be at least 0 and shorter than spec.rotateEvery');
  if (overlap > LIMITS.maxOverlap) return bad('spec.overlap', `must be at most ${LIMITS.maxOverlap}s (authz's overlap cap, 30 days)`);
  const sorted = [...(actions as Array<'pull' | 'push'>)].sort();
  return { ok: true, spec: { type: 'Robot', actions: sorted, secretName: sn, rotateEvery: every, overlap, serviceAccounts: sas } };
}

function tokenSpec(spec: Record<string, unknown>, policy: SpecPolicy, sn: string, sas: string[]): SpecResult {
  const sa = spec.serviceAccountName;
  if (typeof sa !== 'string' || !DNS_SUBDOMAIN.test(sa)) return bad('spec.serviceAccountName', 'is required for type ServiceAccountToken: a service account name');
  const exp = spec.expirationSeconds ?? LIMITS.defaultExpiration;
  if (typeof exp !== 'number' || !Number.isInteger(exp) || exp < LIMITS.minExpiration || exp > policy.maxExpiration) {
    return bad('spec.expirationSeconds', `must be an integer from ${LIMITS.minExpiration} to ${policy.maxExpiration} (the issuer's maxLifetime)`);
  }
  for (const f of ['actions', 'rotateEvery', 'overlap']) if (spec[f] !== undefined) return bad(`spec.${f}`, 'applies to type Robot only');
  return { ok: true, spec: { type: 'ServiceAccountToken', secretName: sn, serviceAccountName: sa, expirationSeconds: exp, serviceAccounts: sas } };
}

/** Validates `cr.spec` of a RegistryCredential in namespace `ns` named `name`. */
export function validateSpec(raw: unknown, ns: string, name: string, policy: SpecPolicy): SpecResult {
  if (!isObject(raw)) return bad('spec', 'is required');
  const sas = names(raw.serviceAccounts, 'spec.serviceAccounts');
  if (typeof sas === 'string') return { ok: false, field: 'spec.serviceAccounts', message: sas };
  const sn = secretName(raw, name);
  if (typeof sn !== 'string') return sn;
  if (raw.type === 'Robot') {
    if (raw.serviceAccountName !== undefined || raw.expirationSeconds !== undefined) return bad(raw.serviceAccountName !== undefined ? 'spec.serviceAccountName' : 'spec.expirationSeconds', 'applies to type ServiceAccountToken only');
    return robotSpec(raw, ns, name, policy, sn, sas);
  }
  if (raw.type === 'ServiceAccountToken') return tokenSpec(raw, policy, sn, sas);
  return bad('spec.type', `"${String(raw.type).slice(0, 40)}" is not a type: use Robot or ServiceAccountToken`);
}

/** `--allow-push` globs (`*` matches any run of characters); linear time, no regex from flags. */
export function globMatch(glob: string, text: string): boolean {
  const parts = glob.split('*');
  if (parts.length === 1) return glob === text;
  const first = parts[0]!;
  const last = parts[parts.length - 1]!;
  if (!text.startsWith(first) || text.length < first.length + last.length || !text.endsWith(last)) return false;
  let at = first.length;
  const end = text.length - last.length;
  for (const p of parts.slice(1, -1)) {
    const i = text.indexOf(p, at);
    if (i < 0 || i + p.length > end) return false;
    at = i + p.length;
  }
  return true;
}
