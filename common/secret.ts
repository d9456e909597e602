import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';

/** Constant-time string comparison (hashing first so unequal lengths leak nothing). */
export function safeEqual(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a).digest();
  const hb = createHash('sha256').update(b).digest();
  return timingSafeEqual(ha, hb);
}

/**
 * Shortest bearer token a server accepts at start: 32 characters (16 bytes of hex, 24 of base64 —
 * `openssl rand -hex 32` gives 64). A short, typed token can be guessed; the servers compare in
 * constant time but nothing stops an attacker from trying a dictionary.
 */
export const MIN_TOKEN_LENGTH = 32;

/** Throws when `token` is shorter than MIN_TOKEN_LENGTH, naming `what`. */
export function requireLongToken(token: string | undefined, what: string): void {
  if (token !== undefined && token.length < MIN_TOKEN_LENGTH) {
    throw new Error(`${what} is ${token.length} characters long; tokens must be at least ${MIN_TOKEN_LENGTH} (make one with \`openssl rand -hex 32\`)`);
  }
}

/** Reads a token from a file (trimmed); empty file is an error. */
export function readSecretFile(path: string, what: string): string {
  let text: string;
  try {
    text = readFileSync(path, 'utf8').trim();
  } catch (e) {
    throw new Error(`cannot read ${what} from ${path}: ${(e as Error).message}`);
  }
  if (!text) throw new Error(`${what} file ${path} is empty`);
  return text;
}
