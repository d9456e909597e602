/**
 * What every reconcile step shares: the CR as read from the API server, the dependencies (injected so
 * tests and the benchmark run the same code against the stand-in), and the two ways a step ends — a
 * `Failure` is a decided refusal written as `Ready=False` (denied is a result), a thrown error means
 * "could not decide" (authz down, API 5xx) and is retried with backoff.
 */
import type { Logger } from '../../../common/logger.js';
import type { AuthzClient } from '../authz-client.js';
import type { SpecPolicy } from '../decide/spec.js';
import type { CredentialStatus } from '../decide/status.js';
import type { KubeClient } from '../kube/client.js';
import type { EventRecorder } from '../kube/events.js';

export interface CredentialObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace: string;
    uid: string;
    generation?: number;
    resourceVersion?: string;
    deletionTimestamp?: string;
    finalizers?: string[];
  };
  spec?: unknown;
  status?: CredentialStatus;
}

export interface ReconcileDeps {
  kube: KubeClient;
  authz: AuthzClient;
  events: EventRecorder;
  logger: Logger;
  now: () => number;
  policy: SpecPolicy;
  /** Registry host the Secrets' `auths` are keyed by (`--registry-host`). */
  registryHost: string;
  /** TokenRequest audience (`--audience`): the one authn's issuers file expects for this cluster. */
  audience: string;
  /** The issuer's user name in authn's issuers file (`--token-username`, default k8s). */
  tokenUsername: string;
  /** The issuer's maxTokenAge in seconds (`--token-max-age`). */
  maxTokenAge: number;
}

export class Failure {
  constructor(
    readonly reason: string,
    readonly message: string,
    /** Come back after this long (ms) even without an event: the world may change outside our watch. */
    readonly retryMs?: number,
  ) {}
}

/** A credential the kind's step decided: `password` set when the Secret must be (re)written. */
export interface Credential {
  account: string;
  username: string;
  password?: string;
  lastRotation: number;
  next: number;
  event?: { reason: 'Created' | 'Rotated'; note: string };
}

export interface ReconcileResult {
  /** When to reconcile again (ms since epoch); undefined: only on the next event or resync. */
  requeueAt?: number;
}
