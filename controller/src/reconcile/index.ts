/**
 * One reconcile of one RegistryCredential (controller-runtime's shape): read the world, decide, write,
 * say when to come back. Idempotent — a duplicate event or a restart repeats no external effect:
 * 1. deleted → finalize; 2. spec invalid → Ready=False naming the field, nothing written;
 * 3. finalizer first (so a delete cannot leak what we create); 4. every named service account must
 * exist and the Secret name must be free or ours — checked before any credential exists, so a refusal
 * leaves no partial credential; 5. the kind's credential (robot or token); 6. the Secret, a moved
 * Secret's old copy, the service accounts' references; 7. status and Events.
 * authz refusing a request as bad input (`AuthzRefused`, a 4xx) is a decided failure like an invalid
 * spec: reported on the CR, not retried until the CR changes (or the periodic resync).
 */
import { validateSpec, type Spec } from '../decide/spec.js';
import { readyCondition, type CredentialStatus, type Outcome } from '../decide/status.js';
import { rfc3339 } from '../decide/schedule.js';
import { AuthzRefused } from '../authz-client.js';
import { ensureFinalizer, writeStatus } from './cr-writes.js';
import { finalize } from './finalize.js';
import { robotCredential } from './robot.js';
import { readSecret, writeSecret, deleteOwnSecret } from './secret.js';
import { readServiceAccount, setPullSecret, type ServiceAccount } from './service-accounts.js';
import { tokenCredential } from './token.js';
import { Failure, type Credential, type CredentialObject, type ReconcileDeps, type ReconcileResult } from './types.js';

function regarding(cr: CredentialObject) {
  const { name, namespace, uid } = cr.metadata;
  return { apiVersion: cr.apiVersion, kind: cr.kind, name, namespace, uid };
}

/** Writes Ready=False for `f` (and a `Failed` Event when the reason or message is new). */
export async function reportFailure(d: ReconcileDeps, cr: CredentialObject, f: Failure): Promise<void> {
  const old = cr.status?.conditions?.find((c) => c.type === 'Ready');
  if (!old || old.reason !== f.reason || old.message !== f.message) d.events.record(regarding(cr), 'Warning', 'Failed', `${f.reason}: ${f.message}`);
  const outcome: Outcome = { ready: false, reason: f.reason, message: f.message };
  await writeStatus(d, cr, { ...cr.status, observedGeneration: cr.metadata.generation ?? 0, conditions: [readyCondition(cr.status, outcome, cr.metadata.generation ?? 0, d.now())] });
}

/** Every named service account must exist: a Failure naming the first missing one, else the accounts as read. */
async function preflight(d: ReconcileDeps, cr: CredentialObject, spec: Spec): Promise<Failure | Map<string, ServiceAccount>> {
  const ns = cr.metadata.namespace;
  const read = new Map<string, ServiceAccount>();
  for (const [i, sa] of spec.serviceAccounts.entries()) {
    const obj = read.get(sa) ?? (await readServiceAccount(d, ns, sa));
    if (!obj) return new Failure('MissingServiceAccount', `spec.serviceAccounts[${i}]: service account "${sa}" does not exist in namespace ${ns}`, 30_000);
    read.set(sa, obj);
  }
  if (spec.type === 'ServiceAccountToken' && !read.has(spec.serviceAccountName) && !(await readServiceAccount(d, ns, spec.serviceAccountName))) {
    return new Failure('MissingServiceAccount', `spec.serviceAccountName: service account "${spec.serviceAccountName}" does not exist in namespace ${ns}`, 30_000);
  }
  return read;
}

async function attach(d: ReconcileDeps, cr: CredentialObject, spec: Spec, read: Map<string, ServiceAccount>): Promise<void> {
  const ns = cr.metadata.namespace;
  const oldName = cr.status?.secretName;
  const oldSas = cr.status?.serviceAccounts ?? [];
  for (const sa of oldSas) {
    if (oldName === undefined || (oldName === spec.secretName && spec.serviceAccounts.includes(sa))) continue;
    await setPullSecret(d, ns, sa, oldName, false);
    read.delete(sa); // changed since preflight read it
  }
  if (oldName !== undefined && oldName !== spec.secretName) await deleteOwnSecret(d, cr, oldName);
  for (const sa of spec.serviceAccounts) await setPullSecret(d, ns, sa, spec.secretName, true, read.get(sa));
}

async function apply(d: ReconcileDeps, cr: CredentialObject, spec: Spec): Promise<ReconcileResult> {
  await ensureFinalizer(d, cr);
  const accounts = await preflight(d, cr, spec);
  if (accounts instanceof Failure) throw accounts;
  const current = await readSecret(d, cr, spec.secretName);
  if (current.kind === 'foreign') throw new Failure('Conflict', `spec.secretName: Secret "${spec.secretName}" exists and was not created by this RegistryCredential; it is left alone`, 60_000);
  const have = current.kind === 'ours' ? current.credential : undefined;
  const cred: Credential | Failure = spec.type === 'Robot' ? await robotCredential(d, cr, spec, have) : await tokenCredential(d, cr, spec, have);
  if (cred instanceof Failure) throw cred;
  if (cred.password !== undefined) await writeSecret(d, cr, spec.secretName, current, cred.username, cred.password);
  await attach(d, cr, spec, accounts);
  if (cred.event) d.events.record(regarding(cr), 'Normal', cred.event.reason, cred.event.note);
  const gen = cr.metadata.generation ?? 0;
  const status: CredentialStatus = {
    observedGeneration: gen,
    secretName: spec.secretName,
    account: cred.account,
    serviceAccounts: spec.serviceAccounts,
    lastRotation: rfc3339(cred.lastRotation),
    nextRotation: rfc3339(cred.next),
    conditions: [readyCondition(cr.status, { ready: true }, gen, d.now())],
  };
  await writeStatus(d, cr, status);
  return { requeueAt: cred.next };
}

/** authz's refusal as the CR's failure: its own message, no timed retry (the same request would fail again). */
const refused = (e: unknown): unknown => (e instanceof AuthzRefused ? new Failure('AuthzRefused', e.message) : e);

export async function reconcile(d: ReconcileDeps, cr: CredentialObject): Promise<ReconcileResult> {
  try {
    if (cr.metadata.deletionTimestamp) {
      await finalize(d, cr);
      return {};
    }
    const checked = validateSpec(cr.spec, cr.metadata.namespace, cr.metadata.name, d.policy);
    if (!checked.ok) throw new Failure('InvalidSpec', checked.message);
    return await apply(d, cr, checked.spec);
  } catch (e) {
    const f = refused(e);
    if (!(f instanceof Failure)) throw e;
    await reportFailure(d, cr, f);
    return f.retryMs === undefined ? {} : { requeueAt: d.now() + f.retryMs };
  }
}
