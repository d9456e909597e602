/**
 * What a robot may do: exactly its actions on repositories `<namespace>/…`, nothing else (no catalog,
 * no other namespace, no role bindings). An unknown or expired robot gets nothing. Also the secret
 * check authn asks for: current secret, or the previous one until its overlap ends.
 */
import type { AuthorizedRequest, AuthorizedResponse } from '../../../common/authorized.js';
import { credentialIdOf, hashEquals, hashSecret } from './secret.js';
import type { RobotRecord, RobotStore } from './store.js';

export function isActive(r: RobotRecord, now: Date): boolean {
  return r.expires_at === null || Date.parse(r.expires_at) > now.getTime();
}

export async function decideRobot(store: RobotStore, req: AuthorizedRequest, now: Date): Promise<AuthorizedResponse> {
  const robot = await store.get(req.Account);
  const inNamespace = robot !== undefined && req.Type === 'repository' && req.Name.startsWith(`${robot.namespace}/`) && !req.Name.split('/').includes('..');
  const granted = robot && inNamespace && isActive(robot, now) ? req.Actions.filter((a) => (robot.actions as string[]).includes(a)) : [];
  const actions = [...new Set(granted)].sort();
  return { allowed: actions.length === new Set(req.Actions).size && actions.length > 0, actions };
}

export type VerifyResult =
  | { valid: true; known: true; credential_id: string; namespace: string; actions: string[]; not_after: number | null }
  | { valid: false; known: boolean };

export async function verifyRobot(store: RobotStore, account: string, secret: string, now: Date): Promise<VerifyResult> {
  const robot = await store.get(account);
  const key = await store.hashKey();
  // Hashing before the lookup result is used keeps unknown and known accounts equally expensive.
  const hash = hashSecret(key, secret);
  if (!robot) return { valid: false, known: false };
  if (!isActive(robot, now)) return { valid: false, known: true };
  const current = hashEquals(hash, robot.secret_hash);
  const previous = robot.previous_hash !== null && robot.previous_until !== null && Date.parse(robot.previous_until) > now.getTime() && hashEquals(hash, robot.previous_hash);
  if (!current && !previous) return { valid: false, known: true };
  const until = [robot.expires_at, current ? null : robot.previous_until].filter((t): t is string => t !== null).map((t) => Math.floor(Date.parse(t) / 1000));
  return {
    valid: true,
    known: true,
    credential_id: credentialIdOf(key, current ? robot.secret_hash : robot.previous_hash!),
    namespace: robot.namespace,
    actions: robot.actions,
    not_after: until.length ? Math.min(...until) : null,
  };
}

/** The credential id of the robot's current secret (refresh tokens), or null when it cannot log in. */
export async function lookupRobot(store: RobotStore, account: string, now: Date): Promise<{ credential_id: string; not_after: number | null } | null> {
  const robot = await store.get(account);
  if (!robot || !isActive(robot, now)) return null;
  return { credential_id: credentialIdOf(await store.hashKey(), robot.secret_hash), not_after: robot.expires_at ? Math.floor(Date.parse(robot.expires_at) / 1000) : null };
}

/** The /explain answer for a robot: what {@link decideRobot} decides, in words (role bindings never apply to robots). */
export async function explainRobot(store: RobotStore, req: AuthorizedRequest, now: Date) {
  const robot = await store.get(req.Account);
  const decision = await decideRobot(store, req, now);
  const requested = [...new Set(req.Actions)].sort();
  const granted = new Set(decision.actions);
  const misses: string[] = [];
  if (!robot) misses.push(`robot "${req.Account}" does not exist`);
  else if (!isActive(robot, now)) misses.push(`robot "${req.Account}" expired at ${robot.expires_at}`);
  else if (req.Type !== 'repository' || !req.Name.startsWith(`${robot.namespace}/`) || req.Name.split('/').includes('..')) {
    misses.push(`robot "${req.Account}" may act only on repositories under "${robot.namespace}/"; "${req.Name}" is not one`);
  } else for (const a of requested) if (!granted.has(a)) misses.push(`robot "${req.Account}" may only ${robot.actions.join(', ')}, not ${a}`);
  return {
    ...decision,
    requested,
    bindings_considered: 0,
    per_action: requested.map((action) => ({ action, granted: granted.has(action), granted_by: [] })),
    misses: decision.allowed ? [] : misses,
  };
}
