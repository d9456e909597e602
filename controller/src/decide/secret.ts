/**
 * The Secret a RegistryCredential should have: type `kubernetes.io/dockerconfigjson`, `auths` keyed by
 * the registry host, one entry with `username`, `password` and `auth` (base64 `user:password`, which
 * the kubelet and docker read). Marked as the controller's by a label and an ownerReference with
 * `controller: true` naming the CR's uid: a Secret without that uid was not made by us and is never
 * adopted or overwritten. Pure.
 */
import { fromDockerConfig, SecretValueRefused } from '../../../common/docker-config.js';
import { dockerConfigJson } from '../../../common/robot-contract.js';
import { API_VERSION, CR } from './spec.js';
import { isObject } from '../../../common/is-object.js';

export const MANAGED_BY = { key: 'app.kubernetes.io/managed-by', value: 'tollgate-controller' } as const;
export const SECRET_TYPE = 'kubernetes.io/dockerconfigjson';

export interface Owner {
  name: string;
  namespace: string;
  uid: string;
}

export interface KubeSecret {
  apiVersion: 'v1';
  kind: 'Secret';
  metadata: { name: string; namespace: string; labels: Record<string, string>; ownerReferences: Array<Record<string, unknown>>; resourceVersion?: string };
  type: string;
  data: Record<string, string>;
}

export function desiredSecret(owner: Owner, secretName: string, host: string, username: string, password: string): KubeSecret {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name: secretName,
      namespace: owner.namespace,
      labels: { [MANAGED_BY.key]: MANAGED_BY.value },
      ownerReferences: [{ apiVersion: API_VERSION, kind: CR.kind, name: owner.name, uid: owner.uid, controller: true, blockOwnerDeletion: true }],
    },
    type: SECRET_TYPE,
    data: { '.dockerconfigjson': Buffer.from(dockerConfigJson(host, username, password)).toString('base64') },
  };
}

/** True when `secret` carries the controller ownerReference of the CR with `uid`. */
export function ownedBy(secret: unknown, uid: string): boolean {
  const refs = isObject(secret) && isObject(secret.metadata) ? secret.metadata.ownerReferences : undefined;
  return Array.isArray(refs) && refs.some((r) => isObject(r) && r.uid === uid && r.kind === CR.kind && r.controller === true);
}

/** The `{username, password}` a Secret of ours holds for `host` (read as authn reads it), or undefined when it holds none. */
export function readCredential(secret: unknown, host: string): { username: string; password: string } | undefined {
  const data = isObject(secret) && isObject(secret.data) ? secret.data['.dockerconfigjson'] : undefined;
  try {
    return fromDockerConfig(data, host);
  } catch (e) {
    if (e instanceof SecretValueRefused) return undefined;
    throw e;
  }
}
