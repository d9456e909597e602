/**
 * Whole-state export and atomic import over either engine. Import validates everything first, then
 * the engine writes in one transaction: either the whole file is applied or nothing changes.
 */
import type { AuthzStore } from './decision-cache.js';
import { STATE_VERSION, type ExportedState, type State } from './state-schema.js';
import type { ImportCounts, ImportMode } from './store.js';
import type { RobotImport } from '../robots/store.js';

export { StateSchema, STATE_VERSION, type State, type ExportedState } from './state-schema.js';
export type { ImportMode } from './store.js';

export async function exportState(store: AuthzStore, now: Date): Promise<ExportedState> {
  const rows = await store.engine.exportRows();
  return { version: STATE_VERSION, exported_at: now.toISOString(), ...rows };
}

/**
 * `replace`: the store ends up exactly equal to the file. `merge`: roles in the file are created or
 * replaced, bindings added; nothing is deleted. `robots` (robots/state.ts `prepareRobotsImport`) is
 * written in the same transaction as the roles and bindings.
 */
export function importState(store: AuthzStore, state: State, mode: ImportMode, now: Date, robots?: RobotImport): Promise<ImportCounts> {
  return store.importState(state, mode, now, robots);
}
