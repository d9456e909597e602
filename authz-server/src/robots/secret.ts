/**
 * Robot secrets: 32 random bytes, shown once as `tgr_<base64url>`; stored as HMAC-SHA256(key, secret).
 * The key is per deployment and travels with an export, so a restore keeps every robot working. The
 * secret has 256 bits of entropy, so even a leaked database with its key allows no guessing.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export function newSecret(): string {
  return `tgr_${randomBytes(32).toString('base64url')}`;
}

export function hashSecret(key: Buffer, secret: string): string {
  return createHmac('sha256', key).update(secret).digest('base64url');
}

/** Constant time for equal-length hashes (all of ours are). */
export function hashEquals(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Id of one secret generation for refresh tokens: derived from the hash, reveals nothing about it. */
export function credentialIdOf(key: Buffer, hash: string): string {
  return createHmac('sha256', key).update('credential-id\0').update(hash).digest('base64url').slice(0, 32);
}
