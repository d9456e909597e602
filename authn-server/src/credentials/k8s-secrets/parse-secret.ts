/**
 * Reads a registry credential out of a Kubernetes Secret object (as the API server returns it).
 *
 * Rules (rauth-compatible): keys `username` + `password` win; otherwise `.dockerconfigjson` whose
 * `auths[<registry host>]` has `username`/`password` or `auth` = base64(`user:password`), read by
 * common/docker-config.ts (the controller reads its own Secrets with it too). Values are strict base64,
 * UTF-8, without control characters, at most MAX_VALUE bytes each (a 1 MiB "password" is a mistake, not
 * a credential). Anything else is refused with a reason naming the key — the caller logs it (never the
 * value) and the namespace has no credential.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { checkCredentialText as checkText, decodeSecretValue as decode, fromDockerConfig, MAX_VALUE, SecretValueRefused as Refused } from '../../../../common/docker-config.js';
import { isObject } from '../../../../common/is-object.js';

export interface SecretCredential {
  namespace: string;
  username: string;
  password: string;
  /** HMAC of user name and password under a per-process key: a login is one HMAC and one constant-time compare. */
  digest: Buffer;
  /** Changes whenever the Secret changes (uid + resourceVersion); no password material in it. */
  version: string;
}

export type ParseResult = { ok: true; credential: SecretCredential } | { ok: false; namespace: string | undefined; reason: string };

const DIGEST_KEY = randomBytes(32);

/** HMAC-SHA256(process key, user NUL password); both sides of a login compare in one constant-time step. */
function credentialDigest(user: string, password: string): Buffer {
  return createHmac('sha256', DIGEST_KEY).update(user).update('\0').update(password).digest();
}

/** True when (user, password) is exactly the Secret's pair; the time taken does not depend on which differs. */
export function matches(cred: SecretCredential, user: string, password: string): boolean {
  return timingSafeEqual(credentialDigest(user, password), cred.digest);
}
/** Parses one Secret object; never throws. */
export function parseSecret(obj: unknown, registryHost: string | undefined): ParseResult {
  const meta = isObject(obj) && isObject(obj.metadata) ? obj.metadata : undefined;
  const namespace = typeof meta?.namespace === 'string' ? meta.namespace : undefined;
  try {
    if (!meta || !namespace) throw new Refused('has no metadata.namespace');
    const data = isObject(obj) && isObject(obj.data) ? obj.data : {};
    let pair: { username: string; password: string };
    if (data.username !== undefined || data.password !== undefined) {
      if (data.username === undefined) throw new Refused('has data[password] but no data[username]');
      if (data.password === undefined) throw new Refused('has data[username] but no data[password]');
      pair = {
        username: checkText(decode(data.username, 'data[username]', MAX_VALUE), 'data[username]'),
        password: checkText(decode(data.password, 'data[password]', MAX_VALUE), 'data[password]'),
      };
    } else if (data['.dockerconfigjson'] !== undefined) {
      pair = fromDockerConfig(data['.dockerconfigjson'], registryHost, 'has only .dockerconfigjson and no --k8s-secret-registry-host is set');
    } else {
      throw new Refused('has neither data[username]+data[password] nor data[.dockerconfigjson]');
    }
    const version = `${String(meta.uid ?? '')}/${String(meta.resourceVersion ?? '')}`;
    return { ok: true, credential: { namespace, ...pair, version, digest: credentialDigest(pair.username, pair.password) } };
  } catch (e) {
    if (!(e instanceof Refused)) throw e;
    return { ok: false, namespace, reason: e.message };
  }
}
