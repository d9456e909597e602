/**
 * Credential backends chained in order (users file, then htpasswd), docker_auth style: the first backend
 * that knows the user decides (`ok` or `wrong-password`); when none does, one dummy bcrypt compare runs so
 * an unknown user costs what a known one does, and the answer is `no-match`.
 */
import type { Logger } from '../../../common/logger.js';
import type { AuthnResult, CredentialBackend, CredentialInfo } from './backend.js';
import type { FileBackend } from './file-backend.js';
import type { WatchOptions } from './file-watch.js';
import { createHtpasswdBackend } from './htpasswd-backend.js';
import { createUsersFileBackend } from './users-file-backend.js';
import { PasswordVerifier, VERIFIER_DEFAULTS, type CompareFn } from './verifier.js';

export type { AuthnResult, CredentialBackend, CredentialInfo, Labels, LoginThrottle } from './backend.js';

export interface CredentialOptions {
  usersFile?: string;
  htpasswdFile?: string;
  /** TTL of the in-memory cache of successful bcrypt verifications (ms). Default 60 000; 0 disables it. */
  cacheTtlMs?: number;
  logger: Logger;
  /** Most cached successes kept (oldest evicted first). Default 10 000. */
  cacheMaxEntries?: number;
  /** File change detection (directory watch + periodic stat). */
  watch?: WatchOptions;
  /** Key of the credential fingerprint; default is a fixed constant so ids survive restarts and match across replicas. */
  credentialIdKey?: string | Buffer;
  /** bcrypt compare, injectable so tests can count calls. Default bcryptjs async compare. */
  compare?: CompareFn;
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
  /** First backend that is not `no-match` decides; all `no-match` → `no-match`. */
  authenticate(user: string, password: string): Promise<AuthnResult>;
  lookup(user: string): Promise<CredentialInfo | null>;
  close(): void;
}

/** The most common bcrypt cost among loaded users (ties: the higher), so the dummy compare costs the same. */
function dummyCost(backends: readonly FileBackend[]): number {
  const counts = new Map<number, number>();
  for (const b of backends) for (const [cost, n] of b.table.costCounts) counts.set(cost, (counts.get(cost) ?? 0) + n);
  let best: number = VERIFIER_DEFAULTS.dummyCost;
  let bestCount = 0;
  for (const [cost, n] of counts) {
    if (n > bestCount || (n === bestCount && cost > best)) [best, bestCount] = [cost, n];
  }
  return best;
}

/** Loads the configured files (rejects with a clear message if one is unreadable or invalid) and watches them. */
export async function createCredentials(opts: CredentialOptions): Promise<Credentials> {
  const verifier = new PasswordVerifier({ ttlMs: opts.cacheTtlMs, maxEntries: opts.cacheMaxEntries, compare: opts.compare, now: opts.now, onCache: opts.onCache });
  const backends: FileBackend[] = [];
  let ready = false;
  const common = (name: string) => ({
    verifier,
    logger: opts.logger,
    watch: opts.watch,
    credentialIdKey: opts.credentialIdKey,
    onReload: (ok: boolean) => {
      opts.onReload?.(name, ok);
      // The users' usual cost may have changed: make the matching dummy hash before a request needs it.
      if (ok && ready) void verifier.dummyHash(dummyCost(backends)).catch(() => undefined);
    },
  });
  try {
    if (opts.usersFile) backends.push(createUsersFileBackend({ path: opts.usersFile, ...common('users-file') }));
    if (opts.htpasswdFile) backends.push(createHtpasswdBackend({ path: opts.htpasswdFile, ...common('htpasswd') }));
    // Made now so the first unknown-user request is not the one paying for it.
    await verifier.dummyHash(dummyCost(backends));
    ready = true;
  } catch (e) {
    for (const b of backends) b.close();
    throw e;
  }

  const chain: CredentialBackend[] = [...backends, ...(opts.extra ?? [])];
  return {
    backends: chain,
    async authenticate(user, password) {
      for (const backend of chain) {
        const result = await backend.authenticate(user, password);
        if (result.kind !== 'no-match') return result;
      }
      await verifier.dummy(user, password, dummyCost(backends));
      return { kind: 'no-match' };
    },
    async lookup(user) {
      for (const backend of chain) {
        const found = await backend.lookup(user);
        if (found) return found;
      }
      return null;
    },
    close() {
      for (const b of chain) void b.close?.();
    },
  };
}
