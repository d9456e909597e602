/**
 * Robot accounts (`robot:<namespace>+<name>`, kept by authz-server): the secret is checked by asking
 * authz (the verify/lookup contract in common/robots.ts) through authn's one keep-alive authz client.
 * Rules:
 * - `robot:` names belong to this backend alone: a failed verify is `wrong-password` whether or not the
 *   robot exists (authz answers both alike), so no dummy bcrypt runs and robot names are not revealed
 *   by timing; authz not answering → throws (503).
 * - A success is cached only while authz's change feed is trusted (authz-client/feed.ts): any change of
 *   that robot (create, rotate, delete) or an import drops its entries, and so does any doubt about the
 *   feed; so a deleted, re-created (another generation) or rotated robot is refused within ~1 s. The
 *   entry also ends at the secret's own end (robot expiry, overlap end) and after `cacheTtlMs`.
 * - Refresh: lookup gives the current secret's id, uncached.
 */
import { Lru } from '../../../common/lru.js';
import { loginKey, newLoginKeySecret } from './login-key.js';
import { ROBOT_LOOKUP_PATH, ROBOT_VERIFY_PATH, RobotLookupReplySchema, RobotVerifyReplySchema } from '../../../common/robot-contract.js';
import type { ChangeFeed } from '../authz-client/feed.js';
import type { AuthzClient } from '../authz-client/index.js';
import type { AuthnResult, CredentialBackend, CredentialInfo, Labels } from './backend.js';
import { ROBOT_CREDENTIAL_LABEL, ROBOT_CREDENTIAL_VALUE, ROBOT_PREFIX } from '../../../common/robots.js';


export interface RobotsBackendOptions {
  /** authn's authz client (keep-alive pool, timeouts, one retry). */
  client: Pick<AuthzClient, 'call'>;
  /** No feed → no cache: every login asks authz. */
  feed?: ChangeFeed | undefined;
  /** Upper bound of a cached success (`--decision-cache-ttl`); 0 = no cache. */
  cacheTtlMs?: number;
  maxEntries?: number;
  now?: () => number;
  onLookup?: (result: 'hit' | 'miss' | 'untrusted') => void;
}

interface Entry {
  account: string;
  result: AuthnResult;
  /** The secret's not_after on the wall clock (ms; Infinity: none): a date, checked against the date. */
  until: number;
}

const labelsOf = (account: string): Labels => ({ namespace: [account.slice(ROBOT_PREFIX.length).split('+')[0] ?? ''], [ROBOT_CREDENTIAL_LABEL]: [ROBOT_CREDENTIAL_VALUE] });

export function createRobotsBackend(opts: RobotsBackendOptions): CredentialBackend {
  const now = opts.now ?? Date.now;
  const ttl = opts.cacheTtlMs ?? 0;
  const feed = ttl > 0 ? opts.feed : undefined;
  const key = newLoginKeySecret();
  // An entry ends after `ttl` (the cache's clock) or at the secret's not_after (a wall-clock date), the first.
  const cache = new Lru<string, Entry>({ maxEntries: opts.maxEntries ?? 10_000, now: opts.now });
  feed?.subscribe((c) => {
    if (c === null || c.kind === 'import') return cache.clear();
    if (c.kind !== 'robot' || c.subject === null) return;
    // This robot was created, rotated or deleted: nothing learnt about it (any generation) holds.
    for (const [k, e] of cache.entries()) if (e.account === c.subject) cache.delete(k);
  });

  async function verify(user: string, password: string): Promise<{ result: AuthnResult; until: number }> {
    const reply = RobotVerifyReplySchema.safeParse(await opts.client.call(ROBOT_VERIFY_PATH, { account: user, secret: password }));
    if (!reply.success) throw new Error(`authz ${ROBOT_VERIFY_PATH} answered an unexpected body`);
    const r = reply.data;
    if (!r.valid) return { result: { kind: 'wrong-password' }, until: 0 };
    const result: AuthnResult = { kind: 'ok', labels: labelsOf(user), credentialId: r.credential_id, ...(r.not_after !== null ? { notAfter: r.not_after } : {}) };
    return { result, until: r.not_after !== null ? r.not_after * 1000 : Infinity };
  }

  return {
    name: 'robots',
    async authenticate(user, password) {
      if (!user.startsWith(ROBOT_PREFIX)) return { kind: 'no-match' };
      if (!feed?.trusted()) {
        opts.onLookup?.(feed ? 'untrusted' : 'miss');
        return (await verify(user, password)).result;
      }
      const ck = loginKey(key, user, password);
      const hit = cache.get(ck);
      if (hit && hit.until > now()) {
        opts.onLookup?.('hit');
        return hit.result;
      }
      opts.onLookup?.('miss');
      const { epoch, rev } = feed;
      const out = await verify(user, password);
      if (out.result.kind === 'ok' && feed.epoch === epoch && feed.rev === rev && feed.trusted()) {
        cache.set(ck, { account: user, result: out.result, until: out.until }, Math.min(ttl, out.until - now()));
      }
      return out.result;
    },
    async lookup(account): Promise<CredentialInfo | null> {
      if (!account.startsWith(ROBOT_PREFIX)) return null;
      const reply = RobotLookupReplySchema.safeParse(await opts.client.call(ROBOT_LOOKUP_PATH, { account }));
      if (!reply.success) throw new Error(`authz ${ROBOT_LOOKUP_PATH} answered an unexpected body`);
      return reply.data.known ? { credentialId: reply.data.credential_id, labels: labelsOf(account) } : null;
    },
  };
}
