/**
 * The status a reconcile leaves on the CR: `observedGeneration`, where the credential is, and one
 * `Ready` condition (metav1.Condition) whose `lastTransitionTime` moves only when its status flips, so
 * an unchanged outcome writes an identical status and a status write never loops. Pure.
 */
import { rfc3339 } from './schedule.js';
import { isObject } from '../../../common/is-object.js';

export interface Condition {
  type: 'Ready';
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
  observedGeneration: number;
  lastTransitionTime: string;
}

export interface CredentialStatus {
  observedGeneration?: number;
  secretName?: string;
  account?: string;
  serviceAccounts?: string[];
  lastRotation?: string;
  nextRotation?: string;
  conditions?: Condition[];
}

export type Outcome = { ready: true } | { ready: false; reason: string; message: string };

/** The Ready condition for `outcome`, keeping the previous transition time when the status did not change. */
export function readyCondition(previous: CredentialStatus | undefined, outcome: Outcome, generation: number, now: number): Condition {
  const status = outcome.ready ? 'True' : 'False';
  const old = previous?.conditions?.find((c) => c.type === 'Ready');
  return {
    type: 'Ready',
    status,
    reason: outcome.ready ? 'Reconciled' : outcome.reason,
    message: outcome.ready ? '' : outcome.message.slice(0, 1024),
    observedGeneration: generation,
    lastTransitionTime: old && old.status === status ? old.lastTransitionTime : rfc3339(now),
  };
}

/** Stable comparison of two statuses (key order and undefined fields do not count). */
export function sameStatus(a: CredentialStatus | undefined, b: CredentialStatus): boolean {
  const norm = (s: CredentialStatus | undefined) => JSON.stringify(s ?? {}, (_k, v: unknown) => (isObject(v) ? Object.fromEntries(Object.entries(v).sort(([x], [y]) => x.localeCompare(y))) : v));
  return norm(a) === norm(b);
}
