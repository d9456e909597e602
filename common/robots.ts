/**
 * What authn and authz both know about robot accounts (authz-server keeps them; authn verifies their
 * secrets through authz). Declared once here: the account prefix, and the label authn sets on a login it
 * verified as a robot secret. authz decides a `robot:` account from its robot table only when the request
 * carries that label, so the label key is reserved: no other credential source (an issuer's claim labels,
 * a users file) may set it. No imports: the web console bundles this file (the verify/lookup contract,
 * which needs zod, is in robot-contract.ts).
 */
export const ROBOT_PREFIX = 'robot:';

/** Label key authn sets (`{credential: ['robot']}`) on a verified robot login; reserved for that use. */
export const ROBOT_CREDENTIAL_LABEL = 'credential';
export const ROBOT_CREDENTIAL_VALUE = 'robot';

/** The account of robot `name` in `namespace`: `robot:<namespace>+<name>`. */
export function robotAccount(namespace: string, name: string): string {
  return `${ROBOT_PREFIX}${namespace}+${name}`;
}
