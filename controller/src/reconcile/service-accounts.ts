/**
 * `imagePullSecrets` references on the listed service accounts: added once, removed when the CR stops
 * listing the account, moves its Secret, or is deleted. A merge-patch would replace the whole list
 * (and lose references others made), so: read, change only our entry, PUT with the resourceVersion
 * read; 409 → read again (a few times).
 */
import { ApiError, paths, statusMessage } from '../kube/client.js';
import type { ReconcileDeps } from './types.js';
import { isObject } from '../../../common/is-object.js';

const ATTEMPTS = 8;
/** Several CRs of one namespace often name the same account: spread their retries a little. */
const jitter = () => new Promise((r) => setTimeout(r, 5 + Math.random() * 45));

export type ServiceAccount = Record<string, unknown>;

/** The service account as read, or undefined when it does not exist (a 404 is an answer; anything else but 200 throws). */
export async function readServiceAccount(d: ReconcileDeps, ns: string, sa: string): Promise<ServiceAccount | undefined> {
  const r = await d.kube.get(paths.serviceAccount(ns, sa));
  if (r.status === 404) return undefined;
  if (r.status !== 200 || !isObject(r.json)) throw new ApiError(`GET serviceaccount ${ns}/${sa} answered ${r.status}${statusMessage(r.json)}`, r.status);
  return r.json;
}

/**
 * Makes `sa`'s imagePullSecrets hold (or not hold) `secretName`; false when the account does not exist.
 * `known` is a copy read earlier in this reconcile: used for the first attempt (a stale one answers 409
 * and is read again), so a settled credential costs one read per account, not two.
 */
export async function setPullSecret(d: ReconcileDeps, ns: string, sa: string, secretName: string, present: boolean, known?: ServiceAccount): Promise<boolean> {
  let read: ServiceAccount | undefined = known;
  for (let i = 0; i < ATTEMPTS; i++) {
    const obj = read ?? (await readServiceAccount(d, ns, sa));
    read = undefined;
    if (!obj) return false;
    const list = Array.isArray(obj.imagePullSecrets) ? (obj.imagePullSecrets as Array<{ name?: unknown }>) : [];
    const has = list.some((x) => x.name === secretName);
    if (has === present) return true;
    const next = { ...obj, imagePullSecrets: present ? [...list, { name: secretName }] : list.filter((x) => x.name !== secretName) };
    const w = await d.kube.replace(paths.serviceAccount(ns, sa), next);
    if (w.status === 409) {
      await jitter();
      continue;
    }
    if (w.status === 404) return false;
    if (w.status !== 200) throw new ApiError(`PUT serviceaccount ${ns}/${sa} answered ${w.status}${statusMessage(w.json)}`, w.status);
    return true;
  }
  throw new ApiError(`serviceaccount ${ns}/${sa} kept changing (${ATTEMPTS} conflicts)`, 409);
}
