/**
 * htpasswd backend: `user:hash` lines, bcrypt only (what `htpasswd -B` and the registry's own htpasswd auth
 * use). Blank lines and `#` comments are ignored; CRLF is accepted. Any other hash type ($apr1$ MD5, {SHA},
 * crypt, plain text) rejects the whole file naming the line: a skipped line would lock a user out silently,
 * and rejecting a reload keeps the previous file serving. Users have no labels.
 */
import { USERNAME_HINT, userNameProblem } from '../limits.js';
import { BCRYPT_HASH, createFileBackend, type FileBackend, type FileBackendOptions } from './file-backend.js';
import type { UserRecord } from './user-table.js';

function hashKind(hash: string): string {
  if (hash.startsWith('$apr1$')) return 'Apache MD5 ($apr1$)';
  if (hash.startsWith('{SHA}')) return 'SHA-1 ({SHA})';
  if (hash.startsWith('$1$')) return 'MD5-crypt ($1$)';
  if (hash.startsWith('$5$') || hash.startsWith('$6$')) return 'SHA-crypt ($5$/$6$)';
  if (/^\$2[abxy]\$/.test(hash)) return 'a malformed bcrypt hash';
  return hash ? 'crypt or plain text' : 'an empty hash';
}

/** Parses htpasswd text; throws `line N: …` for the first bad line. */
function parseHtpasswd(text: string): Map<string, UserRecord> {
  const records = new Map<string, UserRecord>();
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = (lines[i] ?? '').replace(/\r$/, '').trim();
    if (!line || line.startsWith('#')) continue;
    const at = `line ${i + 1}`;
    const colon = line.indexOf(':');
    if (colon < 0) throw new Error(`${at}: expected "user:hash"`);
    const user = line.slice(0, colon);
    const hash = line.slice(colon + 1).trim();
    if (userNameProblem(user)) throw new Error(`${at}: invalid user name (${USERNAME_HINT})`);
    if (!BCRYPT_HASH.test(hash)) {
      throw new Error(`${at}: user "${user}" has ${hashKind(hash)}; only bcrypt is supported (regenerate with \`htpasswd -B\` or \`tollgate hash-password\`)`);
    }
    if (records.has(user)) throw new Error(`${at}: user "${user}" appears twice`);
    records.set(user, { hash, labels: {} });
  }
  return records;
}

/** Loads the htpasswd file (throws if it is unreadable or invalid) and keeps it fresh. */
export function createHtpasswdBackend(opts: FileBackendOptions): FileBackend {
  return createFileBackend('htpasswd', 'htpasswd file', parseHtpasswd, opts);
}
