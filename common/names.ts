/**
 * Name rules both servers share.
 *
 * - `REPOSITORY_NAME`: distribution's repository name grammar (docs/spec/auth/scope.md,
 *   distribution/reference): lowercase components joined by `/`, optionally after `host[:port]/`
 *   (IPv6 hosts in brackets), at most 255 characters; `..`, empty components (`a//b`), a leading or
 *   trailing `/`, uppercase paths, wildcards and anything outside ASCII are not names. Empty is
 *   allowed: zot asks `repository::pull`. Linear on any input: separators are mandatory between
 *   repeats.
 * - `nameProblem`: what is wrong with any other name (account, role, namespace, non-repository
 *   resource): control characters, lone UTF-16 surrogates (they cannot be stored as UTF-8), and text
 *   that is not in Unicode NFC (`é` typed as `e` + U+0301 would be a second name that looks the same).
 */
const COMPONENT = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*';
const HOST_PART = '[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?';
const HOST = `(?:${HOST_PART}(?:\\.${HOST_PART})*|\\[[0-9A-Fa-f:.]+\\])(?::[0-9]+)?`;
export const REPOSITORY_NAME = new RegExp(`^(?:(?:${HOST}/)?${COMPONENT}(?:/${COMPONENT})*)?$`);
export const REPOSITORY_NAME_MAX = 255;
/** Longest account (user) name: authn refuses a longer login before any check, authz a longer robot verify/lookup. */
export const ACCOUNT_NAME_MAX = 256;
/**
 * An RFC 1123 label (a Kubernetes namespace, a Secret or robot name part, a Lease namespace): a-z, 0-9 and "-",
 * at most 63, starting and ending with a letter or digit. Linear: no nested repeats.
 */
export const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
/** A Kubernetes object name (RFC 1123 subdomain: Secrets, service accounts), at most 253. */
export const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;
export const REPOSITORY_NAME_HINT = 'lowercase components joined by "/", optionally after "host[:port]/"';

/** Why `name` is not a repository name, or undefined when it is one. */
export function repositoryNameProblem(name: string): string | undefined {
  if (name.length > REPOSITORY_NAME_MAX) return `is longer than ${REPOSITORY_NAME_MAX} characters`;
  return REPOSITORY_NAME.test(name) ? undefined : `is not a repository name (${REPOSITORY_NAME_HINT})`;
}

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Why `name` is not a storable, unambiguous name, or undefined. */
export function nameProblem(name: string): string | undefined {
  if (CONTROL.test(name)) return 'must not contain control characters';
  if (LONE_SURROGATE.test(name)) return 'must be valid Unicode (no lone surrogate)';
  if (name.normalize('NFC') !== name) return 'must be in Unicode normalization form NFC';
  return undefined;
}
