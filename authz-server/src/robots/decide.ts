/**
 * What a robot may do: exactly its actions on repositories `<namespace>/…`, nothing else (no catalog,
 * no other namespace, no role bindings). An unknown or expired robot gets nothing. Also the secret
 * check authn asks for: current secret, or the previous one until its overlap ends.
 */
import type { AuthorizedRequest, AuthorizedResponse } from '../../../common/authorized.js';
import type { RobotVerifyReply } from '../../../common/robot-contract.js';
import { ROBOT_CREDENTIAL_LABEL, ROBOT_CREDENTIAL_VALUE } from '../../../common/robots.js';
import type { ExplainResult } from '../policy/decide.js';
import { labelValues } from '../policy/pattern.js';
import { credentialIdOf, hashEquals, hashSecret } from './secret.js';
import { isRobotExpired, type RobotRecord, type RobotStore } from './store.js';

/**
 * The robot table's answer and, when it denies, why in words: the one place a robot's grants are decided,
 * so `/authorized` and `/explain` cannot disagree.
 */
function judgeRobot(robot: RobotRecord | undefined, req: AuthorizedRequest, now: Date): { decision: AuthorizedResponse; misses: string[] } {
  const deny = (why: string) => ({ decision: { allowed: false, actions: [] }, misses: [why] });
  if (!robot) return deny(`robot "${req.Account}" does not exist`);
  if (isRobotExpired(robot, now)) return deny(`robot "${req.Account}" expired at ${robot.expires_at}`);
  if (req.Type !== 'repository' || !req.Name.startsWith(`${robot.namespace}/`) || req.Name.split('/').includes('..')) {
    return deny(`robot "${req.Account}" may act only on repositories under "${robot.namespace}/"; "${req.Name}" is not one`);
  }
  const requested = [...new Set(req.Actions)].sort();
  const may = robot.actions as string[];
  const actions = requested.filter((a) => may.includes(a));
  const allowed = actions.length > 0 && actions.length === requested.length;
  const misses = allowed ? [] : requested.filter((a) => !may.includes(a)).map((a) => `robot "${req.Account}" may only ${robot.actions.join(', ')}, not ${a}`);
  return { decision: { allowed, actions }, misses };
}

/**
 * Whether authn vouched for this request as a verified robot secret (common/robots.ts): only then is a
 * `robot:` account decided from the robot table. Any other source of a `robot:` name (an issuer's
 * `sub`, a users file) gets nothing — the name alone proves nothing.
 */
const carriesRobotLabel = (req: AuthorizedRequest): boolean => labelValues(req.Labels, ROBOT_CREDENTIAL_LABEL).includes(ROBOT_CREDENTIAL_VALUE);

/** A `robot:` account's decision and reasons: without the label nothing (and no lookup), else {@link judgeRobot}. */
async function judgeRobotAccount(store: RobotStore, req: AuthorizedRequest, now: Date): Promise<{ decision: AuthorizedResponse; misses: string[] }> {
  if (!carriesRobotLabel(req)) {
    return { decision: { allowed: false, actions: [] }, misses: [`robot account without the label ${ROBOT_CREDENTIAL_LABEL}=${ROBOT_CREDENTIAL_VALUE} (set by authn on a verified robot secret): nothing is granted`] };
  }
  return judgeRobot(await store.get(req.Account), req, now);
}

export async function decideRobotAccount(store: RobotStore, req: AuthorizedRequest, now: Date): Promise<AuthorizedResponse> {
  return (await judgeRobotAccount(store, req, now)).decision;
}

/** `/explain` for a `robot:` account: the same answer as `/authorized`, with why (in words, for the console too); role bindings never apply. */
export async function explainRobotAccount(store: RobotStore, req: AuthorizedRequest, now: Date): Promise<ExplainResult> {
  const { decision, misses } = await judgeRobotAccount(store, req, now);
  const requested = [...new Set(req.Actions)].sort();
  return {
    ...decision,
    requested,
    bindings_considered: 0,
    per_action: requested.map((action) => ({ action, granted: decision.actions.includes(action), granted_by: [] })),
    misses,
  };
}

/** Compared against when the robot does not exist, so a missing name costs what a wrong secret does. */
const ABSENT_HASH = 'A'.repeat(43);

/**
 * The secret check authn asks for (common/robots.ts contract). An unknown name, an expired robot and a
 * wrong secret get the same answer after the same work (one HMAC, two constant-time compares): robot
 * names are not revealed by the answer nor by its timing (`known` stays in the reply for older authn).
 */
export async function verifyRobot(store: RobotStore, account: string, secret: string, now: Date): Promise<RobotVerifyReply> {
  const robot = await store.get(account);
  const key = await store.hashKey();
  const hash = hashSecret(key, secret);
  const current = hashEquals(hash, robot?.secret_hash ?? ABSENT_HASH);
  const inOverlap = robot?.previous_hash != null && robot.previous_until !== null && Date.parse(robot.previous_until) > now.getTime();
  const previous = hashEquals(hash, (inOverlap ? robot?.previous_hash : null) ?? ABSENT_HASH) && inOverlap;
  if (!robot || isRobotExpired(robot, now) || (!current && !previous)) return { valid: false, known: true };
  const until = [robot.expires_at, current ? null : robot.previous_until].filter((t): t is string => t !== null).map((t) => Math.floor(Date.parse(t) / 1000));
  return {
    valid: true,
    known: true,
    credential_id: credentialIdOf(key, current ? robot.secret_hash : robot.previous_hash!),
    namespace: robot.namespace,
    actions: robot.actions,
    not_after: until.length ? Math.min(...until) : null,
    generation: robot.generation,
  };
}

/** The credential id of the robot's current secret (refresh tokens), or null when it cannot log in. */
export async function lookupRobot(store: RobotStore, account: string, now: Date): Promise<{ credential_id: string; not_after: number | null; generation: string } | null> {
  const robot = await store.get(account);
  if (!robot || isRobotExpired(robot, now)) return null;
  return {
    credential_id: credentialIdOf(await store.hashKey(), robot.secret_hash),
    not_after: robot.expires_at ? Math.floor(Date.parse(robot.expires_at) / 1000) : null,
    generation: robot.generation,
  };
}
