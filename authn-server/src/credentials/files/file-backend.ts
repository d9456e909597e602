/**
 * What the file backends share: the hash and user-name formats, and a `UserTable` fed by `loadAndWatch`
 * (reloaded on change; a rejected file leaves the previous table serving).
 */
import type { Logger } from '../../../../common/logger.js';
import type { CredentialBackend } from '../backend.js';
import { loadAndWatch, type WatchOptions } from './file-watch.js';
import { UserTable, type UserRecord } from './user-table.js';
import type { PasswordVerifier } from '../bcrypt/verifier.js';

/** `$2a$`/`$2b$`/`$2y$`, cost 04–31, 22 salt + 31 hash characters. */
export const BCRYPT_HASH = /^\$2[aby]\$(0[4-9]|[12]\d|3[01])\$[./A-Za-z0-9]{53}$/;
export const BCRYPT_HINT = 'must be a bcrypt hash ($2a$, $2b$ or $2y$); make one with `tollgate hash-password` or `htpasswd -nB`';


export interface FileBackendOptions {
  path: string;
  verifier: PasswordVerifier;
  logger: Logger;
  watch?: WatchOptions;
  credentialIdKey?: string | Buffer;
  /** Called after every reload attempt (metrics). */
  onReload?: (ok: boolean) => void;
  /** Throws (naming the problem) when the loaded user names may not serve: the chain's account-space check. */
  vet?: (names: Iterable<string>) => void;
}

export interface FileBackend extends CredentialBackend {
  readonly table: UserTable;
  /** Checks the file now instead of waiting for the watcher (tests, SIGHUP). */
  reload(): Promise<void>;
  close(): void;
}

/** Shared by the file backends: a `UserTable` fed by `loadAndWatch`. */
export function createFileBackend(
  name: string,
  what: string,
  parse: (text: string) => Map<string, UserRecord>,
  opts: FileBackendOptions,
): FileBackend {
  const table = new UserTable(name, opts.verifier, opts.credentialIdKey);
  const apply = (text: string): Record<string, unknown> => {
    let records: Map<string, UserRecord>;
    try {
      records = parse(text);
      opts.vet?.(records.keys());
    } catch (e) {
      opts.onReload?.(false);
      throw e;
    }
    table.replace(records);
    opts.onReload?.(true);
    return { backend: name, users: records.size };
  };
  const watched = loadAndWatch(opts.path, what, apply, opts.logger.child({ backend: name }), opts.watch);
  return {
    name,
    table,
    authenticate: (user, password, client) => table.authenticate(user, password, client),
    lookup: (user) => table.lookup(user),
    reload: () => watched.check(true),
    close: () => watched.close(),
  };
}
