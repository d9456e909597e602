/**
 * The in-memory key of a (user, password) pair: SHA-256 of a per-process secret, the user and the password,
 * one `crypto.hash` call (these lookups run on every cached login; an HMAC object per login cost ≈ 3 % of the
 * token path). The digest never leaves the process, so a secret-keyed hash is all it needs to be: no password
 * is stored, nobody can precompute keys, and a Map lookup's timing reveals nothing an attacker could use.
 * Used by the bcrypt cache (bcrypt/verifier.ts) and the recent-logins memo (recent-logins.ts).
 */
import { hash, randomBytes } from 'node:crypto';

export type LoginKeySecret = string & { readonly __loginKeySecret: true };

export const newLoginKeySecret = (): LoginKeySecret => randomBytes(32).toString('hex') as LoginKeySecret;

export function loginKey(secret: LoginKeySecret, user: string, password: string): string {
  return hash('sha256', `${secret}\0${user}\0${password}`, 'base64url');
}
