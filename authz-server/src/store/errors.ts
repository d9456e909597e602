/** The store's client-facing refusals, worded once for both engines. */
import { AuthzError } from '../errors.js';

export const roleNotFound = (name: string, field = 'name'): AuthzError => new AuthzError(404, 'role_not_found', `role "${name}" does not exist`, field);

export const roleMissingForBinding = (name: string): AuthzError =>
  new AuthzError(404, 'role_not_found', `role "${name}" does not exist; create it first (POST /add-role)`, 'role_name');

/** A create-only role write (`If-None-Match: *`) met an existing role: decided by the table's unique name, not a check before. */
export const roleExists = (name: string): AuthzError => new AuthzError(409, 'conflict', `role "${name}" already exists; edit it instead`, 'name');

export const roleInUse = (name: string, used: number): AuthzError =>
  new AuthzError(409, 'role_in_use', `role "${name}" is used by ${used} binding(s); delete them first or pass force: true`, 'name');

export function bindingNotFound(account: string, role: string, namespace: string | null): AuthzError {
  const ns = namespace ? ` in namespace "${namespace}"` : ' without namespace';
  return new AuthzError(404, 'binding_not_found', `no binding of "${account}" to role "${role}"${ns}`, 'account_name');
}

/** A merge import would mix robot hashes of two keys (those robots could never log in again). */
export const robotKeyMismatch = (): AuthzError =>
  new AuthzError(409, 'conflict', "robots.hash_key differs from this server's and robots exist here: import with mode=replace, or merge into a server without robots", 'robots.hash_key');

export const importUnknownRole = (role: string, i: number): AuthzError =>
  new AuthzError(400, 'invalid_request', `binding refers to unknown role "${role}"`, `bindings[${i}].role_name`);
