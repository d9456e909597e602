/**
 * Kubernetes Secret credential backend (rauth-compatible): the Basic user name is a namespace; the
 * Secret `--k8s-secret-name` in that namespace holds the credential (see parse-secret.ts). The account is
 * `<prefix><namespace>` with labels `namespace: [ns]`, `credential: [k8s-secret]`; what it may do is
 * authz's business, as for anyone.
 *
 * Contract (backend.ts): a user name that is not an RFC 1123 label, or a namespace without a usable
 * Secret → `no-match`; user name or password differ (one HMAC of both, compared in constant time) →
 * `wrong-password`;
 * table not ready (before the first list, watch broken past the bound) or the API failing in get mode →
 * throws, which the token route turns into 503 + Retry-After.
 */
import { createHmac } from 'node:crypto';
import type { Registry } from 'prom-client';
import type { Logger } from '../../../../common/logger.js';
import type { AuthnResult, CredentialBackend, Labels } from '../backend.js';
import { KubeClient, type ApiConnection } from '../../../../common/kube/client.js';
import { DNS_LABEL } from '../../../../common/names.js';
import { SecretGetter } from './get-mode.js';
import { SecretInformer, type InformerOptions } from './informer.js';
import { createK8sMetrics } from './metrics.js';
import { matches, type SecretCredential } from './parse-secret.js';

const K8S_DEFAULTS = { secretName: 'tollgate-registry', accountPrefix: 'namespace:', mode: 'watch' } as const;
/** Fixed so credential ids match across replicas and restarts; the id holds no password material anyway. */
const CREDENTIAL_ID_KEY = 'tollgate k8s-secret credential id v1';

export interface K8sSecretsOptions {
  conn: ApiConnection;
  secretName?: string;
  registryHost?: string | undefined;
  accountPrefix?: string;
  mode?: 'watch' | 'get';
  logger: Logger;
  registry?: Registry;
  /** Informer timings (tests shorten them). */
  informer?: Partial<Omit<InformerOptions, 'kube' | 'secretName' | 'registryHost' | 'logger' | 'metrics'>>;
}

export interface K8sSecretsBackend extends CredentialBackend {
  /** Accounts are this prefix + the namespace (the chain's account space). */
  readonly accountPrefix: string;
  /** Get mode: a login may cost an API GET. */
  readonly remote: boolean;
  ready(): boolean;
  /** Resolves after the first list (watch mode) — tests and benchmarks. */
  synced(): Promise<void>;
  /** Namespaces currently in the table (watch mode). */
  readonly size: number;
  close(): Promise<void>;
}

export function createK8sSecretsBackend(opts: K8sSecretsOptions): K8sSecretsBackend {
  const secretName = opts.secretName ?? K8S_DEFAULTS.secretName;
  const prefix = opts.accountPrefix ?? K8S_DEFAULTS.accountPrefix;
  const logger = opts.logger.child({ backend: 'k8s-secrets' });
  let isReady: () => boolean = () => false;
  const metrics = createK8sMetrics(() => isReady(), opts.registry);
  // One keep-alive client for the list, the watch and every get-mode GET.
  const kube = new KubeClient(opts.conn, { userAgent: 'tollgate-authn' });
  const common = { kube, secretName, registryHost: opts.registryHost, logger, metrics };
  const informer = opts.mode === 'get' ? undefined : new SecretInformer({ ...common, ...opts.informer });
  const getter = opts.mode === 'get' ? new SecretGetter(common) : undefined;
  isReady = () => (informer ? informer.ready() : true);
  informer?.start();

  const fromTable = (namespace: string): SecretCredential | null => {
    if (!informer!.ready()) throw new Error('Kubernetes Secret table not ready (no list yet, or the watch has been broken too long)');
    return informer!.table.get(namespace) ?? null;
  };
  const find = async (namespace: string): Promise<SecretCredential | null> => (getter ? getter.get(namespace) : fromTable(namespace));
  // What a login returns depends only on the Secret: made once per Secret version, not per login.
  const made = new WeakMap<SecretCredential, { account: string; labels: Labels; credentialId: string }>();
  const identity = (c: SecretCredential) => {
    let id = made.get(c);
    if (!id) {
      const credentialId = createHmac('sha256', CREDENTIAL_ID_KEY).update(c.namespace).update('\0').update(c.version).digest('base64url').slice(0, 32);
      id = { account: prefix + c.namespace, labels: { namespace: [c.namespace], credential: ['k8s-secret'] }, credentialId };
      made.set(c, id);
    }
    return id;
  };

  return {
    name: 'k8s-secrets',
    accountPrefix: prefix,
    remote: getter !== undefined,
    async authenticate(user: string, password: string): Promise<AuthnResult> {
      if (!DNS_LABEL.test(user)) return { kind: 'no-match' };
      const cred = getter ? await getter.get(user) : fromTable(user);
      if (!cred) return { kind: 'no-match' };
      // User name and password in one constant-time compare: which of the two differed does not show.
      if (!matches(cred, user, password)) return { kind: 'wrong-password' };
      return { kind: 'ok', ...identity(cred) };
    },
    async lookup(account: string) {
      if (!account.startsWith(prefix)) return null;
      const namespace = account.slice(prefix.length);
      if (!DNS_LABEL.test(namespace)) return null;
      const cred = await find(namespace);
      if (!cred || cred.username !== namespace) return null;
      const { credentialId, labels } = identity(cred);
      return { credentialId, labels };
    },
    ready: () => isReady(),
    synced: () => (informer ? informer.synced$() : Promise.resolve()),
    get size() {
      return informer?.table.size ?? 0;
    },
    close: async () => {
      await informer?.close();
      kube.close();
    },
  };
}
