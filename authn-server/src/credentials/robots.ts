/**
 * Robot accounts (`robot:<namespace>+<name>`, kept by authz-server): the secret is checked by asking
 * authz `POST /robots/verify` with the client token. A success is cached ≤ 60 s (never past the
 * secret's own end), so deleting a robot or ending an overlap takes effect within that time. Unknown
 * robot → `no-match`; known with another secret, or expired → `wrong-password`; authz not answering →
 * throws (503). Refresh: `POST /robots/lookup` gives the current secret's id, uncached.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { AuthnResult, CredentialBackend, CredentialInfo, Labels } from './backend.js';
import { ROBOT_PREFIX } from './robot-prefix.js';

export { ROBOT_PREFIX };
export const ROBOT_CACHE_MAX_MS = 60_000;

export interface RobotsBackendOptions {
  authzUrl: string;
  token?: string | undefined;
  timeoutMs?: number;
  /** ≤ 60 s. */
  cacheTtlMs?: number;
  maxEntries?: number;
  now?: () => number;
}

const VerifyReply = z.union([
  z.object({ valid: z.literal(true), credential_id: z.string().min(1), namespace: z.string(), actions: z.array(z.string()), not_after: z.number().nullable() }),
  z.object({ valid: z.literal(false), known: z.boolean() }),
]);
const LookupReply = z.union([z.object({ known: z.literal(true), credential_id: z.string().min(1), not_after: z.number().nullable() }), z.object({ known: z.literal(false) })]);

const labelsOf = (account: string): Labels => ({ namespace: [account.slice(ROBOT_PREFIX.length).split('+')[0] ?? ''], credential: ['robot'] });

export function createRobotsBackend(opts: RobotsBackendOptions): CredentialBackend {
  const base = opts.authzUrl.replace(/\/+$/, '');
  const ttl = Math.min(opts.cacheTtlMs ?? ROBOT_CACHE_MAX_MS, ROBOT_CACHE_MAX_MS);
  const max = opts.maxEntries ?? 10_000;
  const now = opts.now ?? Date.now;
  const key = randomBytes(32);
  const cache = new Map<string, { result: AuthnResult; expiresAt: number }>();

  async function call(path: string, body: object): Promise<unknown> {
    const res = await fetch(`${base}${path}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', ...(opts.token ? { Authorization: `Bearer ${opts.token}` } : {}) },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(opts.timeoutMs ?? 3000),
    }).catch((e: unknown) => {
      throw new Error(`authz ${path} unreachable: ${(e as Error).message}`);
    });
    if (res.status !== 200) throw new Error(`authz ${path} answered ${res.status}`);
    return res.json().catch(() => {
      throw new Error(`authz ${path} answered a body that is not JSON`);
    });
  }

  return {
    name: 'robots',
    async authenticate(user, password) {
      if (!user.startsWith(ROBOT_PREFIX)) return { kind: 'no-match' };
      const ck = createHmac('sha256', key).update(user).update('\0').update(password).digest('base64url');
      const hit = cache.get(ck);
      if (hit && hit.expiresAt > now()) return hit.result;
      cache.delete(ck);
      const reply = VerifyReply.safeParse(await call('/robots/verify', { account: user, secret: password }));
      if (!reply.success) throw new Error('authz /robots/verify answered an unexpected body');
      const r = reply.data;
      if (!r.valid) return { kind: r.known ? 'wrong-password' : 'no-match' };
      const result: AuthnResult = { kind: 'ok', labels: labelsOf(user), credentialId: r.credential_id, ...(r.not_after !== null ? { notAfter: r.not_after } : {}) };
      const until = Math.min(now() + ttl, r.not_after !== null ? r.not_after * 1000 : Infinity);
      if (ttl > 0 && until > now()) {
        while (cache.size >= max) cache.delete(cache.keys().next().value!);
        cache.set(ck, { result, expiresAt: until });
      }
      return result;
    },
    async lookup(account): Promise<CredentialInfo | null> {
      if (!account.startsWith(ROBOT_PREFIX)) return null;
      const reply = LookupReply.safeParse(await call('/robots/lookup', { account }));
      if (!reply.success) throw new Error('authz /robots/lookup answered an unexpected body');
      return reply.data.known ? { credentialId: reply.data.credential_id, labels: labelsOf(account) } : null;
    },
  };
}
