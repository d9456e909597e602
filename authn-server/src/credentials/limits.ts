/**
 * Sizes of what a client may present as a user name and password, in one place: the request parsers (Basic header,
 * form fields) and the backends must agree, or a credential the docs allow is refused as "malformed".
 */
import { ACCOUNT_NAME_MAX, nameProblem } from '../../../common/names.js';

/** A JWT presented as a password (workload identity): at most 16 KiB (docs/workload-identity.md). */
export const MAX_TOKEN_BYTES = 16 * 1024;
/** Decoded Basic credentials: user name (common/names.ts ACCOUNT_NAME_MAX), colon, and a token of the largest size. */
export const MAX_BASIC_BYTES = MAX_TOKEN_BYTES + ACCOUNT_NAME_MAX * 4 + 1;
/**
 * Why `user`, a name a client presents (Basic, password grant) or an issuer's `sub`, is refused before any check, or
 * undefined. The same rule `/authorized` applies to the account (common/authorized.ts: `nameProblem` of the NFC
 * form), so a name authn accepts never makes authz answer 400 (which authn would turn into a 503 for every token).
 */
export function presentedUserProblem(user: string): string | undefined {
  if (user.length > ACCOUNT_NAME_MAX) return `longer than ${ACCOUNT_NAME_MAX} characters`;
  return nameProblem(user.normalize('NFC'));
}
export const USERNAME_HINT = `user names are 1-${ACCOUNT_NAME_MAX} characters without ":", control characters or lone surrogates`;
/**
 * Why a user name an admin writes (users file, htpasswd, an issuer's `usernames`) is refused, or undefined: what a
 * client may present, non-empty and without `:` (Basic auth splits on the first one).
 */
export function userNameProblem(name: string): string | undefined {
  if (!name) return 'empty';
  if (name.includes(':')) return 'must not contain ":"';
  return presentedUserProblem(name);
}
/** authz refuses longer robot secrets (authz-server/src/robots/schema.ts VerifySchema); a longer one is not a robot secret. */
export { ROBOT_SECRET_MAX_CHARS } from '../../../common/robot-contract.js';
/** Longest password of a file user or Secret: a Secret value's limit (common/docker-config.ts MAX_VALUE); JWTs may be longer. */
export { MAX_VALUE as PASSWORD_MAX_CHARS } from '../../../common/docker-config.js';
/** Request headers authn accepts (Node's default is 16 KiB, too small for a 16 KiB token in base64). */
export const MAX_HEADER_BYTES = 32 * 1024;
