/**
 * Sizes of what a client may present as a user name and password, in one place: the request parsers (Basic header,
 * form fields) and the backends must agree, or a credential the docs allow is refused as "malformed".
 */
import { ACCOUNT_NAME_MAX } from '../../../common/names.js';

/** A JWT presented as a password (workload identity): at most 16 KiB (docs/workload-identity.md). */
export const MAX_TOKEN_BYTES = 16 * 1024;
/** Decoded Basic credentials: user name (common/names.ts ACCOUNT_NAME_MAX), colon, and a token of the largest size. */
export const MAX_BASIC_BYTES = MAX_TOKEN_BYTES + ACCOUNT_NAME_MAX * 4 + 1;
/**
 * A user name an admin writes (users file, htpasswd, an issuer's `usernames`): no `:` (Basic auth splits on the
 * first one) and no control characters (they end up in logs and tokens).
 */
// eslint-disable-next-line no-control-regex
export const USERNAME = new RegExp(`^[^:\\u0000-\\u001f\\u007f]{1,${ACCOUNT_NAME_MAX}}$`);
export const USERNAME_HINT = `user names are 1-${ACCOUNT_NAME_MAX} characters without ":" or control characters`;

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;
/** Why a user name a client presents (Basic, password grant) is refused before any check, or undefined. */
export function presentedUserProblem(user: string): string | undefined {
  if (user.length > ACCOUNT_NAME_MAX) return `longer than ${ACCOUNT_NAME_MAX} characters`;
  if (CONTROL.test(user)) return 'with control characters';
  return undefined;
}
/** authz refuses longer robot secrets (authz-server/src/robots/schema.ts VerifySchema); a longer one is not a robot secret. */
export { ROBOT_SECRET_MAX_CHARS } from '../../../common/robot-contract.js';
/** Longest password of a file user or Secret (a Secret value is at most 4096, k8s-secrets/parse-secret.ts); JWTs may be longer. */
export const PASSWORD_MAX_CHARS = 4096;
/** Request headers authn accepts (Node's default is 16 KiB, too small for a 16 KiB token in base64). */
export const MAX_HEADER_BYTES = 32 * 1024;
