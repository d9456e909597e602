/**
 * Token mode: the JWT the proxy puts on a forwarded request, signed with authn's key for exactly the
 * request's grant (authorize.ts). Tokens are cached per (account, access) for a fifth of --token-ttl
 * (at most 60 s), so a pull is not one signature per blob; the cache never widens anything: the
 * decision is re-made on every request and a changed grant is a different key. A cached token always
 * has at least 4/5 of its lifetime left when it reaches the registry.
 */
import { Lru } from '../../common/lru.js';
import type { AccessEntry, TokenIssuer } from '../../authn-server/src/token/issuer.js';

export interface UpstreamTokens {
  tokenFor(account: string, access: AccessEntry[]): Promise<string>;
}

export function upstreamTokens(issuer: TokenIssuer, service: string, tokenTtlSec: number, max = 10_000): UpstreamTokens {
  const ttl = Math.min(60, Math.floor(tokenTtlSec / 5)) * 1000;
  // The wall clock: the registry checks the token's exp against its date.
  const cache = new Lru<string, string>({ maxEntries: max, ttlMs: ttl, now: Date.now });
  return {
    async tokenFor(account, access) {
      const key = JSON.stringify([account, access]);
      const hit = cache.get(key);
      if (hit) return hit;
      const t = await issuer.issueAccess({ sub: account, aud: service, access });
      cache.set(key, t.token);
      return t.token;
    },
  };
}
