/** `Authorization: Basic` parsing. Rules: strict base64, UTF-8, a `:` (the second one for `robot:` accounts), non-empty user, bounded sizes (a 16 KiB token fits: credentials/limits.ts). */
import { MAX_BASIC_BYTES, presentedUserProblem } from '../credentials/limits.js';
import { ROBOT_PREFIX } from '../../../common/robots.js';
import { AuthnError } from '../errors.js';

export interface BasicCredentials {
  user: string;
  password: string;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });
/** Base64 of the largest credentials allowed (a 16 KiB token and a user name). */
const MAX_BASIC_B64 = 4 * Math.ceil(MAX_BASIC_BYTES / 3);
const broken = (why: string) => new AuthnError(400, 'invalid_request', `malformed Authorization header: ${why}`, { field: 'Authorization' });

/** `undefined` when no header; `null` for another scheme (not ours to read); throws on a broken Basic header. */
export function parseBasic(header: string | undefined): BasicCredentials | null | undefined {
  if (header === undefined || header === '') return undefined;
  const m = /^Basic[ \t]+(\S*)[ \t]*$/i.exec(header);
  if (!m) {
    if (/^Basic\b/i.test(header)) throw broken('expected "Basic <base64>"');
    return null;
  }
  const b64 = m[1]!;
  if (b64.length > MAX_BASIC_B64) throw broken(`credentials too long (at most ${MAX_BASIC_BYTES} bytes before base64)`);
  if (!b64 || !/^[A-Za-z0-9+/]+={0,2}$/.test(b64) || b64.length % 4 !== 0) throw broken('credentials are not valid base64');
  let text: string;
  try {
    text = utf8.decode(Buffer.from(b64, 'base64'));
  } catch {
    throw broken('credentials are not valid UTF-8');
  }
  // A robot account has its own colon (`robot:team-a+ci:<secret>`, PROTOCOL.md §10): split after it.
  const colon = text.startsWith(ROBOT_PREFIX) ? text.indexOf(':', ROBOT_PREFIX.length) : text.indexOf(':');
  if (colon < 0) throw broken('expected "user:password" inside the base64');
  const user = text.slice(0, colon);
  const password = text.slice(colon + 1);
  if (!user) throw broken('empty user name');
  const problem = presentedUserProblem(user);
  if (problem) throw broken(`user name ${problem}`);
  return { user, password };
}
