/**
 * A deleted RegistryCredential (deletionTimestamp set, our finalizer still on it): delete the robot
 * this CR claimed, the Secret(s) it owns, its service-account references, then drop the finalizer so
 * the API server removes the object. Every step is idempotent: a crash half-way repeats harmlessly.
 */
import { ROBOT_PREFIX } from '../../../common/robots.js';
import { FINALIZER } from '../decide/spec.js';
import { dropFinalizer } from './cr-writes.js';
import { deleteOwnSecret } from './secret.js';
import { setPullSecret } from './service-accounts.js';
import { isObj, type CredentialObject, type ReconcileDeps } from './types.js';

const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);

export async function finalize(d: ReconcileDeps, cr: CredentialObject): Promise<void> {
  if (!(cr.metadata.finalizers ?? []).includes(FINALIZER)) return;
  const { namespace: ns, name } = cr.metadata;
  const account = cr.status?.account;
  if (account?.startsWith(ROBOT_PREFIX) && account === `${ROBOT_PREFIX}${ns}+${name}`) {
    if (await d.authz.remove(account)) d.logger.info({ account }, 'controller: robot deleted');
  }
  const spec = isObj(cr.spec) ? cr.spec : {};
  const secretNames = new Set([cr.status?.secretName, typeof spec.secretName === 'string' ? spec.secretName : `${name}-registry`].filter((x): x is string => typeof x === 'string'));
  const sas = new Set([...strings(cr.status?.serviceAccounts), ...strings(spec.serviceAccounts)]);
  for (const secret of secretNames) {
    for (const sa of sas) await setPullSecret(d, ns, sa, secret, false);
    await deleteOwnSecret(d, cr, secret);
  }
  await dropFinalizer(d, cr);
}
