/**
 * Who owns which account names. authz decides by account name alone, so two backends that can produce
 * the same name would share its grants: an issuer signing `sub=robot:team-b+ci` would get that robot's
 * pushes, one signing `sub=alice` alice's. Every backend therefore owns a space of accounts, and no two
 * spaces may overlap:
 * - a Kubernetes issuer: its prefix + `system:serviceaccount:` (its `sub` is verified to have that form);
 * - any other issuer: its prefix (so it must have one);
 * - the Kubernetes Secrets: their prefix + a namespace name (an RFC 1123 label);
 * - robots: `robot:`;
 * - a users file / htpasswd file: its exact names.
 * Start-up (and every reload) refuses an overlap in one line naming both owners and the fix; at login an
 * account outside its backend's space is refused, and a refresh lookup asks only the account's owner.
 */
import { DNS_LABEL } from '../../../common/names.js';
import { ROBOT_PREFIX } from '../../../common/robots.js';

const SA_PREFIX = 'system:serviceaccount:';
const LABEL_CHARS = /^[-a-z0-9]*$/;

/** A space of accounts: `fixed` followed by any non-empty text (`any`) or by a namespace name (`label`). */
export interface Space {
  /** Stable id of the owner (`issuer:ci`, `k8s-secrets`, `robots`, `files`), compared at login. */
  owner: string;
  /** How the owner is named in messages (`issuer "ci" (accountPrefix "ci:")`). */
  what: string;
  fixed: string;
  tail: 'any' | 'label';
  /** How to move this owner out of the way, for the refusal line. */
  fix: string;
}

export const issuerSpace = (name: string, accountPrefix: string, kubernetes: boolean): Space => ({
  owner: `issuer:${name}`,
  what: `issuer "${name}" (${kubernetes ? 'kubernetes, ' : ''}accountPrefix "${accountPrefix}")`,
  fixed: accountPrefix + (kubernetes ? SA_PREFIX : ''),
  tail: 'any',
  fix: `give issuer "${name}" its own accountPrefix in the issuers file`,
});

export const secretsSpace = (accountPrefix: string): Space => ({
  owner: 'k8s-secrets',
  what: `the Kubernetes Secrets (--k8s-account-prefix "${accountPrefix}")`,
  fixed: accountPrefix,
  tail: 'label',
  fix: 'choose another --k8s-account-prefix',
});

export const ROBOT_SPACE: Space = { owner: 'robots', what: `robots ("${ROBOT_PREFIX}")`, fixed: ROBOT_PREFIX, tail: 'any', fix: `"${ROBOT_PREFIX}" is reserved for robots` };

/** True when `account` is in `s`. */
function inSpace(s: Space, account: string): boolean {
  if (!account.startsWith(s.fixed)) return false;
  const rest = account.slice(s.fixed.length);
  return s.tail === 'any' ? rest.length > 0 : DNS_LABEL.test(rest);
}

/** True when some account is in both spaces (the shorter fixed part must lead the longer, and the tail admit the rest). */
function overlap(a: Space, b: Space): boolean {
  const [short, long] = a.fixed.length <= b.fixed.length ? [a, b] : [b, a];
  if (!long.fixed.startsWith(short.fixed)) return false;
  if (short.tail === 'any') return true;
  const rest = long.fixed.slice(short.fixed.length);
  // A label tail overlaps when the longer space's fixed remainder can start a namespace name.
  return LABEL_CHARS.test(rest) && (long.tail === 'any' || rest.length + 1 <= 63);
}

/** The problems of a set of spaces (each one line naming both owners and the fix), empty when they are disjoint. */
export function spaceConflicts(spaces: readonly Space[]): string[] {
  const problems: string[] = [];
  for (const s of spaces) {
    if (s.tail === 'any' && s.fixed === '') {
      problems.push(`account spaces: ${s.what} has an empty account prefix, so its tokens could name any account (a robot's, a file user's); ${s.fix} (e.g. "${s.owner.replace(/^issuer:/, '')}:")`);
    }
  }
  for (let i = 0; i < spaces.length; i++) {
    for (let j = i + 1; j < spaces.length; j++) {
      const a = spaces[i]!;
      const b = spaces[j]!;
      if ((a.fixed === '' && a.tail === 'any') || (b.fixed === '' && b.tail === 'any')) continue;
      if (overlap(a, b)) problems.push(`account spaces: ${a.what} and ${b.what} can name the same account; ${b.owner === 'robots' ? a.fix : b.fix}`);
    }
  }
  return problems;
}

/** File user names that fall in another owner's space; `source` names the file in the message. */
export function nameConflicts(source: string, names: Iterable<string>, spaces: readonly Space[]): string[] {
  const problems: string[] = [];
  for (const n of names) {
    const owner = ownerOf(spaces, n);
    if (owner) problems.push(`account spaces: ${source} user "${n.slice(0, 128)}" is in the accounts of ${owner.what}; rename the user`);
    if (problems.length >= 10) break;
  }
  return problems;
}

/** The owner of `account`: the space holding it (spaces are disjoint once checked), else `undefined`. */
export function ownerOf(spaces: readonly Space[], account: string): Space | undefined {
  return spaces.find((s) => inSpace(s, account));
}
