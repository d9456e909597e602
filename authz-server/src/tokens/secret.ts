/**
 * Token material: `tgt_` + 32 random bytes (base64url), recognisable in a leaked file or log. Stored as
 * its SHA-256 only; a lookup hashes what the caller sent and finds the row by that hash (an index
 * lookup, no string comparison that could stop early at the first differing character).
 */
import { createHash, randomBytes } from 'node:crypto';
import { TOKEN_PREFIX } from './schema.js';

export const newApiToken = (): string => TOKEN_PREFIX + randomBytes(32).toString('base64url');
export const newTokenId = (): string => randomBytes(8).toString('hex');
export const hashApiToken = (token: string): string => createHash('sha256').update(token).digest('hex');
/** A well-formed token: the prefix and 43 base64url characters. Anything else is not looked up. */
export const looksLikeApiToken = (s: string): boolean => /^tgt_[A-Za-z0-9_-]{43}$/.test(s);
