/**
 * Credential backends chained in order (users file, then htpasswd). STUB: replaced by the credentials owner.
 */
import type { Logger } from '../../../common/logger.js';
import type { AuthnResult, CredentialBackend, Labels } from './backend.js';

export interface CredentialOptions {
  usersFile?: string;
  htpasswdFile?: string;
  /** TTL of the in-memory cache of successful bcrypt verifications (ms). */
  cacheTtlMs?: number;
  logger: Logger;
}

export interface Credentials {
  readonly backends: readonly CredentialBackend[];
  /** First backend that is not `no-match` decides; all `no-match` → `no-match`. */
  authenticate(user: string, password: string): Promise<AuthnResult>;
  lookup(user: string): { credentialId: string; labels: Labels } | null;
  close(): void;
}

export async function createCredentials(opts: CredentialOptions): Promise<Credentials> {
  void opts;
  throw new Error('createCredentials: not implemented yet');
}
