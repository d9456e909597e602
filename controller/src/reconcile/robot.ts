/**
 * Type Robot: `robot:<namespace>+<name>` in authz — always the CR's own namespace, so a CR can never
 * produce another namespace's grants. Rules:
 * - a robot of that name that this CR did not create is never adopted (`Conflict`). "Ours" is proven by
 *   a claim: `status.account` is written *before* the robot is created; a 409 on create adopts the robot
 *   only when the claim was already there from an earlier pass (we created it and lost its secret,
 *   e.g. a crash), otherwise the claim is withdrawn and the CR reports Conflict; a create authz refuses
 *   (AuthzRefused) withdraws a claim this pass wrote too;
 * - changed actions: delete and re-create (authz has no update), new secret;
 * - rotation from `status.lastRotation` every `rotateEvery`, the old secret valid `overlap` more;
 *   a Secret that is missing or unreadable gets a fresh secret the same way.
 */
import { AuthzRefused, robotAccount } from '../authz-client.js';
import type { RobotSpec } from '../decide/spec.js';
import { parseTime, robotSchedule } from '../decide/schedule.js';
import { writeStatus } from './cr-writes.js';
import { Failure, type Credential, type CredentialObject, type ReconcileDeps } from './types.js';

async function claim(d: ReconcileDeps, cr: CredentialObject, account: string | undefined): Promise<void> {
  const { account: _drop, ...rest } = cr.status ?? {};
  await writeStatus(d, cr, account === undefined ? rest : { ...rest, account });
}

/**
 * Creates the robot. authz refusing the create (permanent) withdraws a claim this pass wrote: a stale claim
 * would let a later pass adopt — and a deletion remove — a same-named robot someone else makes meanwhile.
 */
async function create(d: ReconcileDeps, cr: CredentialObject, claimed: boolean, spec: RobotSpec): Promise<string | undefined> {
  try {
    return await d.authz.create(cr.metadata.namespace, cr.metadata.name, spec.actions);
  } catch (e) {
    if (!claimed && e instanceof AuthzRefused) await claim(d, cr, undefined);
    throw e;
  }
}

export async function robotCredential(d: ReconcileDeps, cr: CredentialObject, spec: RobotSpec, current: { username: string; password: string } | undefined): Promise<Credential | Failure> {
  const { namespace: ns, name } = cr.metadata;
  const account = robotAccount(ns, name);
  const claimed = cr.status?.account === account;
  const now = d.now();
  let robot = await d.authz.find(account);
  if (robot && !claimed) return new Failure('Conflict', `robot "${account}" exists in authz but was not created by this RegistryCredential; delete it or rename the RegistryCredential`, 60_000);
  if (robot && robot.actions.join(',') !== spec.actions.join(',')) {
    await d.authz.remove(account);
    robot = undefined;
  }
  if (!robot) {
    if (!claimed) await claim(d, cr, account);
    let secret = await create(d, cr, claimed, spec);
    if (secret === undefined) {
      if (!claimed) {
        await claim(d, cr, undefined);
        return new Failure('Conflict', `robot "${account}" exists in authz but was not created by this RegistryCredential; delete it or rename the RegistryCredential`, 60_000);
      }
      secret = await d.authz.rotate(account, 0);
      if (secret === undefined) throw new Error(`robot "${account}" vanished while reconciling`);
    }
    return { account, username: account, password: secret, lastRotation: now, next: now + spec.rotateEvery * 1000, event: { reason: 'Created', note: `robot ${account} created with actions ${spec.actions.join(',')}` } };
  }
  const sched = robotSchedule(now, parseTime(cr.status?.lastRotation), spec.rotateEvery);
  const lost = current === undefined || current.username !== account;
  if (!sched.due && !lost) return { account, username: account, lastRotation: parseTime(cr.status?.lastRotation)!, next: sched.next };
  const secret = await d.authz.rotate(account, spec.overlap);
  if (secret === undefined) throw new Error(`robot "${account}" vanished while rotating`);
  const why = lost ? 'the Secret did not hold the current secret' : `rotateEvery ${spec.rotateEvery}s passed`;
  return { account, username: account, password: secret, lastRotation: now, next: now + spec.rotateEvery * 1000, event: { reason: 'Rotated', note: `robot ${account} rotated (${why}); the previous secret stays valid for ${spec.overlap}s` } };
}
