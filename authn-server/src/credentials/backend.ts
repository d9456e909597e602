/**
 * Credential backends (after cesanta/docker_auth `api/authn.go`).
 *
 * Contract: `authenticate` rejects (throws) only when the request could not be served (I/O failure,
 * backend down) — never to say "denied". `no-match` means "this backend does not know the user; try the
 * next one". `wrong-password` is decisive: the chain stops and the login fails. A backend that can say why a
 * credential is refused (a JWT's audience, expiry) answers `refused` with that reason: decisive too. No
 * backend knows HTTP: the token route maps results to statuses.
 */
export type Labels = Record<string, string[]>;

export type AuthnResult =
  | {
      kind: 'ok';
      labels: Labels;
      /**
       * Opaque fingerprint of the user's current credential (e.g. an HMAC of the stored hash). Refresh tokens
       * carry it; when the password changes or the user is removed it no longer matches.
       */
      credentialId: string;
      /** The account this backend authenticated when it differs from the presented user name (a JWT's sub with prefix, `namespace:<ns>`); callers use `account ?? user`. */
      account?: string;
      /** Epoch seconds after which this identity is no longer valid (refresh tokens must not outlive it). */
      notAfter?: number;
      /** Extra fields for the audit line (issuer, namespace, the presented token's jti) — never a secret. */
      audit?: Record<string, string>;
    }
  | { kind: 'no-match' }
  | { kind: 'wrong-password' }
  | {
      kind: 'refused';
      /** `malformed`: the credential cannot be one (a password that is not a JWT, too long) → 400; else 401. */
      malformed?: boolean;
      /** Said to the client and written in the audit line; never holds the secret. */
      reason: string;
      audit?: Record<string, string>;
    };

export interface CredentialInfo {
  credentialId: string;
  labels: Labels;
}

export interface CredentialBackend {
  /** Short name for logs and metrics (`users-file`, `htpasswd`, `k8s-secrets`). */
  readonly name: string;
  /**
   * `client` (the caller's IP) is charged for an uncached password check; a refusal rejects with
   * `HashBusyError` (too many checks waiting, or this client's budget spent) — "not now", not "denied".
   */
  authenticate(user: string, password: string, client?: string): Promise<AuthnResult>;
  /**
   * The user's current credential fingerprint and labels without checking a password (used on refresh),
   * or `null` when this backend does not know the user. `user` is the account (a refresh token's `sub`).
   * Async where the backend may need I/O; throws when it could not decide.
   */
  lookup(user: string): CredentialInfo | null | Promise<CredentialInfo | null>;
  /** False while this backend cannot decide (its logins then answer 503); shown by `/readyz`. */
  ready?(): boolean;
  /** Stops file watchers and API watches. */
  close?(): void | Promise<void>;
}

/** Per (account, client IP) failed-login throttle. */
export interface LoginThrottle {
  /** `retryAfterSec` > 0 when this (account, ip) must wait before trying again. */
  check(account: string, ip: string): { allowed: true } | { allowed: false; retryAfterSec: number };
  recordFailure(account: string, ip: string): void;
  recordSuccess(account: string, ip: string): void;
}
