/**
 * Workload-identity backend: for the user names of a configured issuer (e.g. `k8s`), the password is a JWT
 * from that issuer (a Kubernetes projected service-account token, a CI job's OIDC token).
 *
 * - Decides only for its issuers' user names (`no-match` for everyone else); a refused token is a
 *   `refused` result carrying the reason for the audit line; keys that cannot be had throw (→ 503).
 * - A successful verification is cached by the token's SHA-256 for at most min(60 s, exp): a kubelet
 *   pulling many layers does not pay a signature check per token request; concurrent logins with one
 *   token share one verification.
 * - The issuers file is reloaded on change (file-watch.ts); a bad version keeps the last good one. Issuers
 *   whose settings did not change keep their fetched keys.
 * - `lookup` (refresh grant) can vouch only for what the account itself says: Kubernetes accounts
 *   (`system:serviceaccount:<ns>:<sa>`) and issuers without claim labels. The refresh token never outlives
 *   the JWT (`notAfter`).
 */
import { createHash } from 'node:crypto';
import { Lru } from '../../../../common/lru.js';
import type { Logger } from '../../../../common/logger.js';
import type { AuthnResult, CredentialBackend, Labels } from '../backend.js';
import { loadAndWatch, type WatchOptions } from '../files/file-watch.js';
import { parseIssuersFile, type IssuerConfig } from './config.js';
import { createIssuerKeys, type IssuerKeys, type KeyCacheOptions } from './issuer-keys.js';
import { TokenRefused, verifyToken, type VerifiedToken } from './verify.js';

export interface OidcBackendOptions {
  path: string;
  logger: Logger;
  watch?: WatchOptions;
  now?: () => number;
  keys?: Omit<KeyCacheOptions, 'now' | 'onFetch'>;
  /** Most cached verifications. Default 10 000. */
  cacheMaxEntries?: number;
  /** Longest a verification is cached (ms). Default 60 000. */
  cacheTtlMs?: number;
  onReload?: (ok: boolean) => void;
  /** Every verification: `ok`, `cached` or the refusal reason. */
  onLogin?: (issuer: string, result: string) => void;
  onKeyFetch?: (issuer: string, ok: boolean) => void;
  /** Throws (naming the problem) when a loaded issuers list may not serve: the chain's account-space check. */
  vet?: (issuers: readonly IssuerConfig[]) => void;
}

export interface OidcBackend extends CredentialBackend {
  /** True for an issuer's user name: the password is a signed token, not a guessable secret. */
  handles(user: string): boolean;
  readonly issuers: readonly IssuerConfig[];
  /** Key cache of an issuer (tests). */
  keysOf(name: string): IssuerKeys | undefined;
  reload(): Promise<void>;
  close(): void;
}

interface Issuer {
  cfg: IssuerConfig;
  keys: IssuerKeys;
  /** Fingerprint of the settings: refresh tokens carry it, and a changed issuer invalidates them. */
  credentialId: string;
}

const SA_ACCOUNT = /^system:serviceaccount:([a-z0-9]([-a-z0-9]*[a-z0-9])?):([a-z0-9]([-a-z0-9.]*[a-z0-9])?)$/;

const fingerprint = (cfg: IssuerConfig): string => createHash('sha256').update(JSON.stringify(cfg)).digest('base64url').slice(0, 32);

export function createOidcBackend(opts: OidcBackendOptions): OidcBackend {
  const now = opts.now ?? Date.now;
  const log = opts.logger.child({ backend: 'oidc' });
  const cacheTtlMs = opts.cacheTtlMs ?? 60_000;
  const cacheMax = Math.max(1, opts.cacheMaxEntries ?? 10_000);
  // A verified token, until the first of the cache TTL (the cache's clock) and its own exp (the wall clock).
  const cache = new Lru<string, VerifiedToken>({ maxEntries: cacheMax, now: opts.now });
  const inflight = new Map<string, Promise<VerifiedToken>>();
  let byName = new Map<string, Issuer>();
  /** The configs of byName, made once per (re)load: the chain keys its account-space list on this array. */
  let loaded: readonly IssuerConfig[] = [];
  let byUser = new Map<string, Issuer>();

  const apply = (text: string): Record<string, unknown> => {
    let configs: IssuerConfig[];
    try {
      configs = parseIssuersFile(text);
      opts.vet?.(configs);
    } catch (e) {
      opts.onReload?.(false);
      throw e;
    }
    const names = new Map<string, Issuer>();
    const users = new Map<string, Issuer>();
    for (const cfg of configs) {
      const fp = fingerprint(cfg);
      const old = byName.get(cfg.name);
      const keys = old && old.credentialId === fp ? old.keys : createIssuerKeys(cfg, { ...opts.keys, now, onFetch: (ok) => opts.onKeyFetch?.(cfg.name, ok) });
      const issuer = { cfg, keys, credentialId: fp };
      names.set(cfg.name, issuer);
      for (const u of cfg.usernames) users.set(u, issuer);
      if (cfg.insecure) log.warn({ issuer: cfg.name }, `issuer ${cfg.name} allows http:// (insecure: true): its keys can be forged in transit`);
    }
    byName = names;
    loaded = [...names.values()].map((i) => i.cfg);
    byUser = users;
    cache.clear();
    opts.onReload?.(true);
    return { backend: 'oidc', issuers: configs.map((c) => c.name) };
  };
  const watched = loadAndWatch(opts.path, 'issuers file', apply, log, opts.watch);
  // Warm the key caches without holding up the start: an issuer that is down must not stop the server.
  for (const i of byName.values()) i.keys.refresh().catch((e: Error) => log.warn({ issuer: i.cfg.name, reason: e.message }, 'issuer keys not loaded yet; will retry at the first login'));

  async function verify(issuer: Issuer, token: string): Promise<{ v: VerifiedToken; cached: boolean }> {
    const key = `${issuer.cfg.name}\0${createHash('sha256').update(token).digest('base64url')}`;
    const t = now();
    const hit = cache.get(key);
    // exp is a date: checked against the date (the cache's own clock does not follow wall-clock steps).
    if (hit && hit.exp * 1000 > t) return { v: hit, cached: true };
    let pending = inflight.get(key);
    // A login joining another's verification counts as cached: it did not verify.
    const joined = pending !== undefined;
    if (!pending) {
      pending = verifyToken(token, issuer.cfg, issuer.keys, new Date(t)).finally(() => inflight.delete(key));
      inflight.set(key, pending);
    }
    const v = await pending;
    // Only while the issuer is unchanged: a reload clears the cache.
    if (byName.get(issuer.cfg.name) === issuer) {
      cache.set(key, v, Math.min(cacheTtlMs, v.exp * 1000 - now()));
    }
    return { v, cached: joined };
  }

  async function authenticate(user: string, password: string): Promise<AuthnResult> {
    const issuer = byUser.get(user);
    if (!issuer) return { kind: 'no-match' };
    const name = issuer.cfg.name;
    try {
      const { v, cached } = await verify(issuer, password);
      opts.onLogin?.(name, cached ? 'cached' : 'ok');
      const audit = { issuer: name, ...(v.namespace ? { namespace: v.namespace } : {}), ...(v.jti ? { token_jti: v.jti } : {}) };
      return { kind: 'ok', labels: v.labels, credentialId: issuer.credentialId, account: v.account, notAfter: v.exp, audit };
    } catch (e) {
      if (!(e instanceof TokenRefused)) {
        opts.onLogin?.(name, 'unavailable');
        throw e;
      }
      opts.onLogin?.(name, e.reason);
      const audit = { issuer: name, token_refused: e.reason, ...(e.jti ? { token_jti: e.jti } : {}) };
      return { kind: 'refused', malformed: e.status === 400, reason: `${user}: ${e.message}`, audit };
    }
  }

  function lookup(account: string): { credentialId: string; labels: Labels } | null {
    // Longest prefix first: an account is vouched for by the most specific issuer only.
    for (const { cfg, credentialId } of [...byName.values()].sort((a, b) => b.cfg.accountPrefix.length - a.cfg.accountPrefix.length)) {
      if (!account.startsWith(cfg.accountPrefix)) continue;
      const sub = account.slice(cfg.accountPrefix.length);
      if (cfg.kubernetes) {
        const m = SA_ACCOUNT.exec(sub);
        if (m) return { credentialId, labels: { issuer: [cfg.name], namespace: [m[1]!], serviceaccount: [m[3]!] } };
      } else if (Object.keys(cfg.labels).length === 0 && sub) {
        return { credentialId, labels: { issuer: [cfg.name] } };
      }
    }
    return null;
  }

  return {
    name: 'oidc',
    get issuers() {
      return loaded;
    },
    handles: (user) => byUser.has(user),
    keysOf: (name) => byName.get(name)?.keys,
    authenticate,
    lookup,
    reload: () => watched.check(true),
    close: () => watched.close(),
  };
}
