/**
 * Writes to the RegistryCredential itself. The finalizer is added and removed by merge-patch carrying
 * the resourceVersion read (a stale copy answers 409 and the reconcile starts over from a fresh read);
 * status goes to the `/status` subresource as a merge-patch, and only when it changed, so a status
 * write never triggers another.
 */
import { FINALIZER } from '../decide/spec.js';
import { sameStatus, type CredentialStatus } from '../decide/status.js';
import { ApiError, paths, statusMessage } from '../kube/client.js';
import type { CredentialObject, ReconcileDeps } from './types.js';

/** Thrown when the CR changed under us (409): re-read and reconcile again. */
export class Stale extends Error {}

async function setFinalizers(d: ReconcileDeps, cr: CredentialObject, finalizers: string[]): Promise<void> {
  const { namespace, name, resourceVersion } = cr.metadata;
  const r = await d.kube.mergePatch(paths.cr(namespace, name), { metadata: { finalizers, resourceVersion } });
  if (r.status === 409) throw new Stale(`${namespace}/${name} changed while reconciling`);
  if (r.status === 404) throw new Stale(`${namespace}/${name} is gone`);
  if (r.status !== 200) throw new ApiError(`PATCH registrycredential ${namespace}/${name} answered ${r.status}${statusMessage(r.json)}`, r.status);
  const meta = (r.json as CredentialObject | undefined)?.metadata;
  if (meta?.resourceVersion) cr.metadata.resourceVersion = meta.resourceVersion;
  cr.metadata.finalizers = finalizers;
}

/** Adds the cleanup finalizer before anything external exists, so a delete can never leak a robot. */
export async function ensureFinalizer(d: ReconcileDeps, cr: CredentialObject): Promise<void> {
  const list = cr.metadata.finalizers ?? [];
  if (!list.includes(FINALIZER)) await setFinalizers(d, cr, [...list, FINALIZER]);
}

export async function dropFinalizer(d: ReconcileDeps, cr: CredentialObject): Promise<void> {
  const list = cr.metadata.finalizers ?? [];
  if (list.includes(FINALIZER)) await setFinalizers(d, cr, list.filter((f) => f !== FINALIZER));
}

const STATUS_KEYS: Array<keyof CredentialStatus> = ['observedGeneration', 'secretName', 'account', 'serviceAccounts', 'lastRotation', 'nextRotation', 'conditions'];

/** Writes `next` as the CR's status unless it equals what is there. */
export async function writeStatus(d: ReconcileDeps, cr: CredentialObject, next: CredentialStatus): Promise<void> {
  if (sameStatus(cr.status, next)) return;
  const { namespace, name } = cr.metadata;
  // Merge-patch: keys we no longer set are written as null so they are removed, not kept.
  const body = Object.fromEntries(STATUS_KEYS.map((k) => [k, next[k] ?? null]));
  const r = await d.kube.mergePatch(`${paths.cr(namespace, name)}/status`, { status: body });
  if (r.status === 404) throw new Stale(`${namespace}/${name} is gone`);
  if (r.status !== 200) throw new ApiError(`PATCH registrycredential ${namespace}/${name}/status answered ${r.status}${statusMessage(r.json)}`, r.status);
  cr.status = next;
  const meta = (r.json as CredentialObject | undefined)?.metadata;
  if (meta?.resourceVersion) cr.metadata.resourceVersion = meta.resourceVersion;
}
