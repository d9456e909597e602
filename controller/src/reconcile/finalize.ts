/**
 * A deleted RegistryCredential (deletionTimestamp set, our finalizer still on it): delete the robot
 * this CR claimed, the Secret(s) it owns, its service-account references, then drop the finalizer so
 * the API server removes the object. Every step is idempotent: a crash half-way repeats harmlessly.
 */
import { robotAccount } from '../authz-client.js';
import { FINALIZER } from '../decide/spec.js';
import { dropFinalizer } from './cr-writes.js';
import { deleteOwnSecret } from './secret.js';
import { setPullSecret } from './service-accounts.js';
import type { CredentialObject, ReconcileDeps } from './types.js';
import { isObject } from '../../../common/is-object.js';
import { DNS_SUBDOMAIN } from '../../../common/names.js';

/** Only Kubernetes names become path segments (a spec that never validated may hold anything). */
const names = (v: unknown[]): string[] => v.filter((x): x is string => typeof x === 'string' && DNS_SUBDOMAIN.test(x));
const strings = (v: unknown): string[] => (Array.isArray(v) ? names(v) : []);

export async function finalize(d: ReconcileDeps, cr: CredentialObject): Promise<void> {
  if (!(cr.metadata.finalizers ?? []).includes(FINALIZER)) return;
  const { namespace: ns, name } = cr.metadata;
  const account = cr.status?.account;
  if (account !== undefined && account === robotAccount(ns, name)) {
    if (await d.authz.remove(account)) d.logger.info({ account }, 'controller: robot deleted');
  }
  const spec = isObject(cr.spec) ? cr.spec : {};
  const secretNames = new Set(names([cr.status?.secretName, spec.secretName ?? `${name}-registry`]));
  const sas = new Set([...strings(cr.status?.serviceAccounts), ...strings(spec.serviceAccounts)]);
  for (const secret of secretNames) {
    for (const sa of sas) await setPullSecret(d, ns, sa, secret, false);
    await deleteOwnSecret(d, cr, secret);
  }
  await dropFinalizer(d, cr);
}
