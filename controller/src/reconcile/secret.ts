/**
 * The credential Secret: read it and say whose it is, write it (create, or PUT over our own copy with
 * its resourceVersion), delete it. A Secret of that name without our ownerReference is `foreign` and
 * never written or deleted.
 */
import { desiredSecret, ownedBy, readCredential } from '../decide/secret.js';
import { ApiError, paths, statusMessage } from '../kube/client.js';
import { Stale } from './cr-writes.js';
import type { CredentialObject, ReconcileDeps } from './types.js';
import { isObject } from '../../../common/is-object.js';

export type SecretState =
  | { kind: 'missing' }
  | { kind: 'foreign' }
  | { kind: 'ours'; resourceVersion: string; credential: { username: string; password: string } | undefined };

export async function readSecret(d: ReconcileDeps, cr: CredentialObject, name: string): Promise<SecretState> {
  const ns = cr.metadata.namespace;
  const r = await d.kube.get(paths.secret(ns, name));
  if (r.status === 404) return { kind: 'missing' };
  if (r.status !== 200 || !isObject(r.json)) throw new ApiError(`GET secret ${ns}/${name} answered ${r.status}${statusMessage(r.json)}`, r.status);
  if (!ownedBy(r.json, cr.metadata.uid)) return { kind: 'foreign' };
  const rv = isObject(r.json.metadata) ? String(r.json.metadata.resourceVersion ?? '') : '';
  return { kind: 'ours', resourceVersion: rv, credential: readCredential(r.json, d.registryHost) };
}

export async function writeSecret(d: ReconcileDeps, cr: CredentialObject, name: string, current: SecretState, username: string, password: string): Promise<void> {
  const { namespace: ns, name: crName, uid } = cr.metadata;
  const body = desiredSecret({ namespace: ns, name: crName, uid }, name, d.registryHost, username, password);
  if (current.kind === 'ours') {
    body.metadata.resourceVersion = current.resourceVersion;
    const r = await d.kube.replace(paths.secret(ns, name), body);
    if (r.status === 409 || r.status === 404) throw new Stale(`secret ${ns}/${name} changed while writing it`);
    if (r.status !== 200) throw new ApiError(`PUT secret ${ns}/${name} answered ${r.status}${statusMessage(r.json)}`, r.status);
    return;
  }
  const r = await d.kube.create(paths.secrets(ns), body);
  if (r.status === 409) throw new Stale(`secret ${ns}/${name} appeared while writing it`);
  if (r.status !== 201 && r.status !== 200) throw new ApiError(`POST secret ${ns}/${name} answered ${r.status}${statusMessage(r.json)}`, r.status);
}

/** Deletes the Secret if it is ours; leaves anyone else's alone. */
export async function deleteOwnSecret(d: ReconcileDeps, cr: CredentialObject, name: string): Promise<void> {
  const s = await readSecret(d, cr, name);
  if (s.kind !== 'ours') return;
  const r = await d.kube.remove(paths.secret(cr.metadata.namespace, name));
  if (r.status !== 200 && r.status !== 202 && r.status !== 404) throw new ApiError(`DELETE secret ${cr.metadata.namespace}/${name} answered ${r.status}${statusMessage(r.json)}`, r.status);
}
