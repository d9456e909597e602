/**
 * Credential backends chained in order (issuers file, users file, then htpasswd), docker_auth style: the first backend
 * that knows the user decides (`ok` or `wrong-password`); when none does, one dummy bcrypt compare runs so
 * an unknown user costs what a known one does (at a cost drawn from the users' own mix, dummy-cost.ts),
 * and the answer is `no-match`.
 */
import type { Logger } from '../../../common/logger.js';
import type { AuthnResult, CredentialBackend, CredentialInfo } from './backend.js';
import type { FileBackend } from './files/file-backend.js';
import type { WatchOptions } from './files/file-watch.js';
import { createHtpasswdBackend } from './files/htpasswd.js';
import type { OidcBackend, OidcBackendOptions } from './oidc/backend.js';
import { createUsersFileBackend } from './files/users-file.js';
import { createHashBudget, type HashBudgetOptions } from './bcrypt/hash-budget.js';
import { createHashPool, type HashPoolOptions } from './bcrypt/hash-pool.js';
import { DummyCosts } from './bcrypt/dummy-cost.js';
import { PasswordVerifier, type CompareFn } from './bcrypt/verifier.js';

export type { AuthnResult, CredentialBackend, CredentialInfo, Labels, LoginThrottle } from './backend.js';
export { HashBusyError } from './bcrypt/hash-pool.js';

export interface CredentialOptions {
  usersFile?: string;
  htpasswdFile?: string;
  /** Issuers file (workload identity: JWTs as passwords) and the options of its backend. */
  oidc?: Omit<OidcBackendOptions, 'logger' | 'watch' | 'onReload'>;
  /** TTL of the in-memory cache of successful bcrypt verifications (ms). Default 60 000; 0 disables it. */
  cacheTtlMs?: number;
  logger: Logger;
  /** Most cached successes kept (oldest evicted first). Default 10 000. */
  cacheMaxEntries?: number;
  /** File change detection (directory watch + periodic stat). */
  watch?: WatchOptions;
  /** Key of the credential fingerprint; default is a fixed constant so ids survive restarts and match across replicas. */
  credentialIdKey?: string | Buffer;
  /** bcrypt compare, injectable so tests can count calls. Default: the worker-thread pool. */
  compare?: CompareFn;
  /** Worker threads and queue bound of the bcrypt pool. */
  hashPool?: HashPoolOptions;
  /** Per-client-IP budget of uncached checks; `false` turns it off. */
  hashBudget?: HashBudgetOptions | false;
  /** Clock for the cache TTL. */
  now?: () => number;
  /** Backends asked after the files, in order (Kubernetes Secrets). Closed with the rest. */
  extra?: CredentialBackend[];
  /** Metrics hooks. */
  onCache?: (hit: boolean) => void;
  onReload?: (backend: string, ok: boolean) => void;
}

export interface Credentials {
  readonly backends: readonly CredentialBackend[];
  /**
   * First backend that is not `no-match` decides; all `no-match` → `no-match`. `client` (an IP) pays for
   * uncached checks; rejects with `HashBusyError` when the pool's queue is full or the client's budget spent.
   */
  authenticate(user: string, password: string, client?: string): Promise<AuthnResult>;
  lookup(user: string): Promise<CredentialInfo | null>;
  /**
   * True when this user name's password is a signed token (an issuer's user name such as `k8s`): not a
   * guessable secret, so the login does not go through the per-(account, IP) throttle, which would lock a
   * user name every node shares.
   */
  passwordIsToken?(user: string): boolean;
  close(): void;
}

/** Loads the configured files (rejects with a clear message if one is unreadable or invalid) and watches them. */
export async function createCredentials(opts: CredentialOptions): Promise<Credentials> {
  // bcrypt runs on worker threads so uncached checks never hold the event loop (hash-pool.ts).
  const pool = createHashPool(opts.hashPool);
  const verifier = new PasswordVerifier({
    ttlMs: opts.cacheTtlMs,
    maxEntries: opts.cacheMaxEntries,
    compare: opts.compare ?? pool.compare,
    hash: pool.hash,
    ...(opts.hashBudget === false ? {} : { budget: createHashBudget({ ...opts.hashBudget, ...(opts.now ? { now: opts.now } : {}) }) }),
    now: opts.now,
    onCache: opts.onCache,
  });
  const backends: FileBackend[] = [];
  let oidc: OidcBackend | undefined;
  const dummyCosts = new DummyCosts();
  let ready = false;
  /** New mix of costs after a (re)load: warn when mixed, make each cost's dummy hash before a request needs it. */
  const refreshDummies = (): Promise<unknown> => {
    const mixed = dummyCosts.update(backends.map((b) => b.table));
    if (mixed) {
      opts.logger.warn(
        { bcrypt_costs: Object.fromEntries(mixed) },
        'users have mixed bcrypt costs: login times hint at which cost, and so which user names, exist — rehash every password with one cost (tollgate hash-password --cost N)',
      );
    }
    return Promise.all(dummyCosts.all().map((c) => verifier.dummyHash(c)));
  };
  const common = (name: string) => ({
    verifier,
    logger: opts.logger,
    watch: opts.watch,
    credentialIdKey: opts.credentialIdKey,
    onReload: (ok: boolean) => {
      opts.onReload?.(name, ok);
      if (ok && ready) void refreshDummies().catch(() => undefined);
    },
  });
  try {
    // Loaded only when an issuers file is configured: a files-only server never loads the JWT verification code.
    if (opts.oidc) oidc = (await import('./oidc/backend.js')).createOidcBackend({ ...opts.oidc, logger: opts.logger, watch: opts.watch, onReload: (ok) => opts.onReload?.('oidc', ok) });
    if (opts.usersFile) backends.push(createUsersFileBackend({ path: opts.usersFile, ...common('users-file') }));
    if (opts.htpasswdFile) backends.push(createHtpasswdBackend({ path: opts.htpasswdFile, ...common('htpasswd') }));
    if (oidc) refuseSharedNames(oidc, backends);
    // Made now so the first unknown-user request is not the one paying for it.
    await refreshDummies();
    ready = true;
  } catch (e) {
    for (const b of backends) b.close();
    oidc?.close();
    void pool.close();
    throw e;
  }
  // The issuers decide first (their user names are theirs alone); for refresh lookups the files answer first,
  // so an issuer without an account prefix never shadows a file user.
  // Backends asked after the files (Kubernetes Secrets, robots) come last in both orders.
  const extra = opts.extra ?? [];
  const chain: CredentialBackend[] = [...(oidc ? [oidc] : []), ...backends, ...extra];
  const lookupChain: CredentialBackend[] = [...backends, ...(oidc ? [oidc] : []), ...extra];
  return {
    backends: chain,
    passwordIsToken: (user) => oidc?.handles(user) === true,
    async authenticate(user, password, client) {
      for (const backend of chain) {
        const result = await backend.authenticate(user, password, client);
        if (result.kind !== 'no-match') return result;
      }
      await verifier.dummy(user, password, dummyCosts.costFor(user), client);
      return { kind: 'no-match' };
    },
    async lookup(user) {
      for (const backend of lookupChain) {
        const found = await backend.lookup(user);
        if (found) return found;
      }
      return null;
    },
    close() {
      for (const b of chain) void b.close?.();
      void pool.close();
    },
  };
}

/** A file user named like an issuer's user name would be unreachable (the issuer decides first): refuse to start. */
function refuseSharedNames(oidc: OidcBackend, files: readonly FileBackend[]): void {
  for (const b of files) {
    for (const i of oidc.issuers) {
      for (const u of i.usernames) {
        if (b.lookup(u)) throw new Error(`${b.name}: user "${u}" is also a user name of issuer ${i.name} in the issuers file; rename one of them`);
      }
    }
  }
}
