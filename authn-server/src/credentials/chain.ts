/**
 * The credential chain, assembled here and nowhere else. Each backend owns a space of account names
 * (account-spaces.ts) and a login is routed by the name presented:
 * - `robot:…` → robots only (authz keeps them); an unknown robot is `no-match` at the cost of a known one.
 * - an issuer's user name (`k8s`) → that issuer only (the password is a JWT).
 * - anything else → the users file, then htpasswd, then the Kubernetes Secrets (the name is a namespace).
 *   When none knows the name, or a Secret's password is wrong, one dummy bcrypt compare runs at the cost
 *   drawn from the users' own mix (dummy-cost.ts), so a wrong guess costs the same whether the name is a
 *   file user, a namespace with a Secret, or nothing.
 * The per-client budget (bcrypt/hash-budget.ts) is charged before any remote lookup (a robot verify, a
 * Secret GET) unless this exact credential logged in during the last minute (recent-logins.ts).
 * An account a backend returns outside its own space is refused (a result, audited); a refresh lookup
 * asks only the owner of the account's space.
 */
import type { Logger } from '../../../common/logger.js';
import { ROBOT_PREFIX } from '../../../common/robots.js';
import type { ChangeFeed } from '../authz-client/feed.js';
import type { AuthzClient } from '../authz-client/index.js';
import type { Config } from '../config.js';
import type { Metrics } from '../metrics/index.js';
import { issuerSpace, nameConflicts, ownerOf, ROBOT_SPACE, secretsSpace, spaceConflicts, type Space } from './account-spaces.js';
import type { AuthnResult, CredentialBackend, CredentialInfo } from './backend.js';
import { createHashBudget, type HashBudget, type HashBudgetOptions } from './bcrypt/hash-budget.js';
import { createHashPool, HashBusyError, type HashPoolOptions } from './bcrypt/hash-pool.js';
import { DummyCosts } from './bcrypt/dummy-cost.js';
import { PasswordVerifier, type CompareFn } from './bcrypt/verifier.js';
import type { FileBackend } from './files/file-backend.js';
import { lazyBackend } from './lazy-backend.js';
import { PASSWORD_MAX_CHARS, ROBOT_SECRET_MAX_CHARS } from './limits.js';
import type { WatchOptions } from './files/file-watch.js';
import { createHtpasswdBackend } from './files/htpasswd.js';
import { createUsersFileBackend } from './files/users-file.js';
import type { OidcBackend, OidcBackendOptions } from './oidc/backend.js';
import type { IssuerConfig } from './oidc/config.js';
import { RecentLogins } from './recent-logins.js';

export type { AuthnResult, CredentialBackend, CredentialInfo, Labels, LoginThrottle } from './backend.js';
export { HashBusyError } from './bcrypt/hash-pool.js';

/** The Kubernetes Secrets backend as the chain sees it: its account prefix, and whether a login may call the API server. */
export interface SecretsSlot extends CredentialBackend {
  readonly accountPrefix: string;
  /** Get mode: an unknown namespace costs an API GET, so the client's budget is charged first. */
  readonly remote: boolean;
}

export interface CredentialOptions {
  usersFile?: string;
  htpasswdFile?: string;
  /** Issuers file (workload identity: JWTs as passwords) and the options of its backend. */
  oidc?: Omit<OidcBackendOptions, 'logger' | 'watch' | 'onReload' | 'vet'>;
  /** Robots (`robot:` accounts, kept by authz). */
  robots?: CredentialBackend;
  /** Kubernetes Secrets (namespace logins). */
  k8sSecrets?: SecretsSlot;
  /** TTL of the in-memory cache of successful bcrypt verifications (ms). Default 60 000; 0 disables it. */
  cacheTtlMs?: number;
  logger: Logger;
  /** Most cached successes kept (least recently used evicted first). Default 10 000. */
  cacheMaxEntries?: number;
  /** File change detection (directory watch + periodic stat). */
  watch?: WatchOptions;
  /** Key of the credential fingerprint; default is a fixed constant so ids survive restarts and match across replicas. */
  credentialIdKey?: string | Buffer;
  /** bcrypt compare, injectable so tests can count calls. Default: the worker-thread pool. */
  compare?: CompareFn;
  /** Worker threads and queue bound of the bcrypt pool. */
  hashPool?: HashPoolOptions;
  /** Per-client-IP budget of uncached checks and remote lookups; `false` turns it off. */
  hashBudget?: HashBudgetOptions | false;
  /** Clock for the cache TTL. */
  now?: () => number;
  /** Metrics hooks. */
  onCache?: (hit: boolean) => void;
  onReload?: (backend: string, ok: boolean) => void;
}

export interface Credentials {
  readonly backends: readonly CredentialBackend[];
  /**
   * The backend owning the presented name decides; none → `no-match`. `client` (an IP) pays for uncached
   * checks and remote lookups; rejects with `HashBusyError` when the pool's queue is full or the budget spent.
   */
  authenticate(user: string, password: string, client?: string): Promise<AuthnResult>;
  /** Asks only the owner of the account's space. */
  lookup(user: string): Promise<CredentialInfo | null>;
  /**
   * True when this user name's password is a signed token (an issuer's user name such as `k8s`): not a
   * guessable secret, so the login does not go through the per-(account, IP) throttle, which would lock a
   * user name every node shares.
   */
  passwordIsToken?(user: string): boolean;
  close(): void;
}

type Ok = Extract<AuthnResult, { kind: 'ok' }>;

const tooLong = (max: number): AuthnResult => ({ kind: 'refused', malformed: true, reason: `password longer than ${max} characters`, audit: { password_chars: `>${max}` } });

/** Everything a login is routed through, once loaded. */
interface Parts {
  files: FileBackend[];
  oidc: OidcBackend | undefined;
  robots: CredentialBackend | undefined;
  secrets: SecretsSlot | undefined;
  spaces(): Space[];
  verifier: PasswordVerifier;
  dummyCosts: DummyCosts;
  budget: HashBudget | undefined;
  recent: RecentLogins;
}

const refuse = (problems: string[]): void => {
  if (problems.length) throw new Error(problems.slice(0, 5).join('; '));
};
const issuerSpaces = (list: readonly IssuerConfig[]): Space[] => list.map((i) => issuerSpace(i.name, i.accountPrefix, i.kubernetes));

/** Loads the configured files (rejects with a clear message if one is unreadable, invalid, or overlaps another owner) and watches them. */
export async function createCredentials(opts: CredentialOptions): Promise<Credentials> {
  // bcrypt runs on worker threads so uncached checks never hold the event loop (hash-pool.ts).
  const pool = createHashPool(opts.hashPool);
  const budget = opts.hashBudget === false ? undefined : createHashBudget({ ...opts.hashBudget, ...(opts.now ? { now: opts.now } : {}) });
  const verifier = new PasswordVerifier({ ttlMs: opts.cacheTtlMs, maxEntries: opts.cacheMaxEntries, compare: opts.compare ?? pool.compare, hash: pool.hash, ...(budget ? { budget } : {}), now: opts.now, onCache: opts.onCache });
  const fixedSpaces: Space[] = [...(opts.robots ? [ROBOT_SPACE] : []), ...(opts.k8sSecrets ? [secretsSpace(opts.k8sSecrets.accountPrefix)] : [])];
  // Every login asks which space owns its account: the list is rebuilt only when the issuers list (re)loads.
  let spacesOf: { issuers: readonly IssuerConfig[] | undefined; spaces: Space[] } | undefined;
  const spaces = (): Space[] => {
    const issuers = p.oidc?.issuers;
    if (!spacesOf || spacesOf.issuers !== issuers) spacesOf = { issuers, spaces: [...issuerSpaces(issuers ?? []), ...fixedSpaces] };
    return spacesOf.spaces;
  };
  const p: Parts = { files: [], oidc: undefined, robots: opts.robots, secrets: opts.k8sSecrets, spaces, verifier, dummyCosts: new DummyCosts(), budget, recent: new RecentLogins(60_000, 10_000, opts.now) };
  try {
    await load(opts, p, fixedSpaces);
  } catch (e) {
    for (const b of p.files) b.close();
    p.oidc?.close();
    void pool.close();
    throw e;
  }
  const all: CredentialBackend[] = [...(p.oidc ? [p.oidc] : []), ...p.files, ...(p.secrets ? [p.secrets] : []), ...(p.robots ? [p.robots] : [])];
  return {
    backends: all,
    passwordIsToken: (user) => p.oidc?.handles(user) === true,
    authenticate: (user, password, client) => route(p, user, password, client),
    lookup: (account) => lookupOwner(p, account),
    close() {
      for (const b of all) void b.close?.();
      void pool.close();
    },
  };
}

/** Loads the issuers file and the user files into `p`, each vetted against the account spaces now and on every reload. */
async function load(opts: CredentialOptions, p: Parts, fixedSpaces: Space[]): Promise<void> {
  // A file or issuers list that would overlap another owner is refused (on a reload the last good one keeps serving).
  const vetIssuers = (list: readonly IssuerConfig[]): void => {
    const all = [...issuerSpaces(list), ...fixedSpaces];
    refuse([...spaceConflicts(all), ...p.files.flatMap((f) => nameConflicts(f.name, f.table.names(), all))]);
  };
  let ready = false;
  /** New mix of costs after a (re)load: warn when mixed, make each cost's dummy hash before a request needs it. */
  const refreshDummies = (): Promise<unknown> => {
    const mixed = p.dummyCosts.update(p.files.map((b) => b.table));
    if (mixed) {
      opts.logger.warn(
        { bcrypt_costs: Object.fromEntries(mixed) },
        'users have mixed bcrypt costs: login times hint at which cost, and so which user names, exist — rehash every password with one cost (tollgate hash-password --cost N)',
      );
    }
    return Promise.all(p.dummyCosts.all().map((c) => p.verifier.dummyHash(c)));
  };
  const common = (name: string) => ({
    verifier: p.verifier,
    logger: opts.logger,
    watch: opts.watch,
    credentialIdKey: opts.credentialIdKey,
    vet: (names: Iterable<string>) => refuse(nameConflicts(name, names, p.spaces())),
    onReload: (ok: boolean) => {
      opts.onReload?.(name, ok);
      if (ok && ready) void refreshDummies().catch(() => undefined);
    },
  });
  refuse(spaceConflicts(fixedSpaces));
  // Loaded only when an issuers file is configured: a files-only server never loads the JWT verification code.
  if (opts.oidc) p.oidc = (await import('./oidc/backend.js')).createOidcBackend({ ...opts.oidc, logger: opts.logger, watch: opts.watch, vet: vetIssuers, onReload: (ok) => opts.onReload?.('oidc', ok) });
  if (opts.usersFile) p.files.push(createUsersFileBackend({ path: opts.usersFile, ...common('users-file') }));
  if (opts.htpasswdFile) p.files.push(createHtpasswdBackend({ path: opts.htpasswdFile, ...common('htpasswd') }));
  if (p.oidc) refuseSharedNames(p.oidc, p.files);
  // Made now so the first unknown-user request is not the one paying for it.
  await refreshDummies();
  ready = true;
}

/** Notes a successful remote login so `chargeRemote` lets its re-logins through uncharged (only remote backends read it). */
function remembered(p: Parts, r: AuthnResult, user: string, password: string): AuthnResult {
  if (r.kind === 'ok') p.recent.add(user, password);
  return r;
}

/** Charges the client before a remote lookup, unless this credential logged in a moment ago. True when charged. */
function chargeRemote(p: Parts, user: string, password: string, client: string | undefined): boolean {
  if (client === undefined || !p.budget || p.recent.has(user, password)) return false;
  const spent = p.budget.take(client);
  if (!spent.ok) throw new HashBusyError('client-limit', spent.retryAfterSec);
  return true;
}

/** `r` when its account is in the space of `owner` (the issuer that verified it, or the backend), else a refusal. */
function owned(p: Parts, r: Ok, user: string, owner: string): AuthnResult {
  const account = r.account ?? user;
  const space = ownerOf(p.spaces(), account);
  if (owner === 'files' ? space === undefined : space?.owner === owner) return r;
  const holder = space ? space.what : 'no configured owner';
  return { kind: 'refused', reason: `account "${account.slice(0, 128)}" is not in the accounts of the credential that verified it (it belongs to ${holder})`, audit: { account_space: space?.owner ?? 'none', verified_by: owner } };
}

/** The login, routed by the presented name (see the top of this file). */
async function route(p: Parts, user: string, password: string, client: string | undefined): Promise<AuthnResult> {
  if (user.startsWith(ROBOT_PREFIX)) {
    if (!p.robots) return { kind: 'no-match' };
    if (password.length > ROBOT_SECRET_MAX_CHARS) return tooLong(ROBOT_SECRET_MAX_CHARS);
    chargeRemote(p, user, password, client);
    const r = await p.robots.authenticate(user, password, client);
    return r.kind === 'ok' ? remembered(p, owned(p, r, user, 'robots'), user, password) : r;
  }
  if (p.oidc?.handles(user)) {
    const r = await p.oidc.authenticate(user, password, client);
    return r.kind === 'ok' ? owned(p, r, user, `issuer:${r.audit?.issuer ?? ''}`) : r;
  }
  if (password.length > PASSWORD_MAX_CHARS) return tooLong(PASSWORD_MAX_CHARS);
  for (const f of p.files) {
    const r = await f.authenticate(user, password, client);
    if (r.kind === 'ok') return owned(p, r, user, 'files');
    if (r.kind !== 'no-match') return r;
  }
  const charged = p.secrets?.remote === true && chargeRemote(p, user, password, client);
  const r: AuthnResult = p.secrets ? await p.secrets.authenticate(user, password, client) : { kind: 'no-match' };
  if (r.kind === 'ok') return p.secrets?.remote ? remembered(p, owned(p, r, user, 'k8s-secrets'), user, password) : owned(p, r, user, 'k8s-secrets');
  // Nobody knows the name, or a Secret's password is wrong: one dummy compare, so both cost what a file user's wrong password does.
  await p.verifier.dummy(user, password, p.dummyCosts.costFor(user), charged ? undefined : client);
  return r;
}

/** A refresh lookup: only the owner of the account's space is asked. */
async function lookupOwner(p: Parts, account: string): Promise<CredentialInfo | null> {
  const owner = ownerOf(p.spaces(), account)?.owner;
  if (owner === 'robots') return (await p.robots?.lookup(account)) ?? null;
  if (owner === 'k8s-secrets') return (await p.secrets?.lookup(account)) ?? null;
  if (owner !== undefined) return (await p.oidc?.lookup(account)) ?? null;
  for (const f of p.files) {
    const found = await f.lookup(account);
    if (found) return found;
  }
  return null;
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

/** What the robots backend asks authz through: the one keep-alive client, and the change feed its cache follows. */
export interface RobotsWiring {
  client: AuthzClient;
  feed?: ChangeFeed | undefined;
}

/** The server's chain from its configuration (core.ts): robots always, the Secrets and issuers when configured. */
export async function credentialsFromConfig(cfg: Config, logger: Logger, metrics: Metrics, wiring: RobotsWiring): Promise<Credentials> {
  // Robots are always on: only `robot:` user names reach authz, which keeps them. Their code (and that of the
  // Kubernetes Secrets and issuers backends) loads only when used: idle RSS (docs/authn.md "Memory").
  const robots = lazyBackend('robots', (user) => user.startsWith(ROBOT_PREFIX), async () => {
    const { createRobotsBackend } = await import('./robots.js');
    return createRobotsBackend({ client: wiring.client, feed: wiring.feed, cacheTtlMs: cfg.decisionCacheTtlMs, onLookup: (result) => metrics.cacheLookups.inc({ cache: 'robot', result }) });
  });
  let k8sSecrets: SecretsSlot | undefined;
  if (cfg.k8sSecrets) {
    const [{ resolveConnection }, { createK8sSecretsBackend }] = await Promise.all([import('../../../common/kube/connection.js'), import('./k8s-secrets/index.js')]);
    k8sSecrets = createK8sSecretsBackend({
      conn: resolveConnection({ apiUrl: cfg.k8sApiUrl, tokenFile: cfg.k8sTokenFile, caFile: cfg.k8sCaFile }),
      secretName: cfg.k8sSecretName,
      registryHost: cfg.k8sSecretRegistryHost,
      accountPrefix: cfg.k8sAccountPrefix,
      mode: cfg.k8sSecretsMode,
      logger,
      registry: metrics.registry,
      informer: { staleAfterMs: cfg.k8sStaleAfterSec * 1000 },
    });
  }
  const oidc = cfg.oidcIssuers
    ? {
        path: cfg.oidcIssuers,
        onLogin: (issuer: string, result: string) => metrics.oidcLogins.inc({ issuer, result }),
        onKeyFetch: (issuer: string, ok: boolean) => metrics.oidcKeyFetches.inc({ issuer, outcome: ok ? 'ok' : 'error' }),
      }
    : undefined;
  const cacheHit = metrics.credentialCache.labels('hit');
  const cacheMiss = metrics.credentialCache.labels('miss');
  try {
    return await createCredentials({
      robots,
      ...(k8sSecrets ? { k8sSecrets } : {}),
      ...(cfg.users ? { usersFile: cfg.users } : {}),
      ...(cfg.htpasswd ? { htpasswdFile: cfg.htpasswd } : {}),
      ...(oidc ? { oidc } : {}),
      logger,
      hashPool: { ...(cfg.bcryptWorkers ? { workers: cfg.bcryptWorkers } : {}), ...(cfg.bcryptQueue !== undefined ? { maxQueue: cfg.bcryptQueue } : {}) },
      hashBudget: { perMinute: cfg.uncachedPerIp },
      onCache: (hit) => (hit ? cacheHit : cacheMiss).inc(),
      onReload: (backend, ok) => metrics.credentialReloads.inc({ backend, result: ok ? 'ok' : 'rejected' }),
    });
  } catch (e) {
    void k8sSecrets?.close?.();
    throw e;
  }
}
