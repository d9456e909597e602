/**
 * Type Robot: `robot:<namespace>+<name>` in authz — always the CR's own namespace, so a CR can never
 * produce another namespace's grants. Rules:
 * - a robot of that name that this CR did not create is never adopted (`Conflict`). "Ours" is proven by
 *   a claim: `status.account` is written *before* the robot is created; a 409 on create adopts the robot
 *   only when the claim was already there from an earlier pass (we created it and lost its secret,
 *   e.g. a crash), otherwise the claim is withdrawn and the CR reports Conflict;
 * - changed actions: delete and re-create (authz has no update), new secret;
 * - rotation from `status.lastRotation` every `rotateEvery`, the old secret valid `overlap` more;
 *   a Secret that is missing or unreadable gets a fresh secret the same way.
 */
import { robotAccount } from '../authz-client.js';
import type { RobotSpec } from '../decide/spec.js';
import { parseTime, robotSchedule } from '../decide/schedule.js';
import { writeStatus } from './cr-writes.js';
import { Failure, type Credential, type CredentialObject, type ReconcileDeps } from './types.js';

async function claim(d: ReconcileDeps, cr: CredentialObject, account: string | undefined): Promise<void> {
  const { account: _drop, ...rest } = cr.status ?? {};
  await writeStatus(d, cr, account === undefined ? rest : { ...rest, account });
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
    let secret = await d.authz.create(ns, name, spec.actions);
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
