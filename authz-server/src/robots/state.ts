/**
 * Robots in `GET /export` / `POST /import`: the hash key and each robot's hashes (never a secret), so a
 * restore keeps every robot logging in with the secret it already has. A file without `robots` leaves
 * the server's robots as they are (files from before robots existed).
 */
import { z } from 'zod';
import { AuthzError } from '../errors.js';
import { K8sNamespaceSchema } from '../common-schema.js';
import { ActionsSchema, OVERLAP_RANGE, RobotNameSchema, robotAccount } from './schema.js';
import { robotKeyMismatch } from '../store/errors.js';
import { newGeneration, type RobotImport, type RobotRecord, type RobotStore } from './store.js';

const iso = z.iso.datetime({ offset: true });
const hash = z.string().regex(/^[A-Za-z0-9_-]{43}$/, 'must be a robot secret hash (43 base64url characters)');

export const RobotsStateSchema = z
  .object({
    hash_key: z.string().regex(/^[A-Za-z0-9_-]{43}$/, 'must be 32 bytes in base64url'),
    accounts: z.array(
      z
        .object({
          namespace: K8sNamespaceSchema,
          name: RobotNameSchema,
          actions: ActionsSchema,
          created_at: iso,
          expires_at: iso.nullable(),
          rotated_at: iso.nullable(),
          secret_hash: hash,
          previous_hash: hash.nullable(),
          previous_until: iso.nullable(),
        })
        .strict(),
    ),
  })
  .strict();

export type RobotsState = z.infer<typeof RobotsStateSchema>;

export async function exportRobots(store: RobotStore): Promise<RobotsState> {
  const key = await store.hashKey();
  // The generation is this database's own: an import gives every robot it writes a fresh one.
  const accounts = (await store.list()).map(({ account: _a, generation: _g, ...rest }) => rest);
  return { hash_key: key.toString('base64url'), accounts };
}

function toRecords(state: RobotsState): RobotRecord[] {
  const seen = new Set<string>();
  return state.accounts.map((a, i) => {
    const account = robotAccount(a.namespace, a.name);
    if (seen.has(account)) throw new AuthzError(400, 'invalid_request', `robot "${account}" appears twice`, `robots.accounts[${i}]`);
    seen.add(account);
    overlapProblem(a, `robots.accounts[${i}]`);
    return { account, ...a, generation: newGeneration() };
  });
}

/**
 * A previous secret keeps working no longer than the API allows a rotation to keep it (30 days after
 * that rotation): a file cannot give a leaked old secret years of life.
 */
function overlapProblem(a: RobotsState['accounts'][number], path: string): void {
  if (a.previous_until === null) return;
  const field = `${path}.previous_until`;
  if (a.previous_hash === null) throw new AuthzError(400, 'invalid_request', `${field} is set but previous_hash is not`, field);
  if (a.rotated_at === null) throw new AuthzError(400, 'invalid_request', `${field} needs rotated_at (the overlap is counted from the rotation)`, field);
  const cap = Date.parse(a.rotated_at) + OVERLAP_RANGE.max * 1000;
  if (Date.parse(a.previous_until) > cap) {
    throw new AuthzError(400, 'invalid_request', `${field} is more than ${OVERLAP_RANGE.max / 86400} days after rotated_at (the longest overlap a rotation may give)`, field);
  }
}

/**
 * The robots part made ready for the engine's import (store/state.ts `importState`, one transaction with
 * the roles and bindings), refusing early what it can: a robot listed twice (400), a merge that would
 * mix hashes of two keys (409). The engine checks the key again inside its transaction, since another
 * import may change it between this check and the write.
 */
export async function prepareRobotsImport(store: RobotStore, state: RobotsState, mode: 'replace' | 'merge'): Promise<RobotImport> {
  const records = toRecords(state);
  const key = Buffer.from(state.hash_key, 'base64url');
  if (mode === 'merge' && !(await store.isEmpty()) && !key.equals(await store.hashKey())) {
    throw robotKeyMismatch();
  }
  return { key, records };
}
