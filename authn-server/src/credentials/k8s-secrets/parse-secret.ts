/**
 * Reads a registry credential out of a Kubernetes Secret object (as the API server returns it).
 *
 * Rules (rauth-compatible): keys `username` + `password` win; otherwise `.dockerconfigjson` whose
 * `auths[<registry host>]` has `username`/`password` or `auth` = base64(`user:password`). Values are
 * strict base64, UTF-8, without control characters, at most MAX_VALUE bytes each (a 1 MiB "password" is
 * a mistake, not a credential). Anything else is refused with a reason naming the key — the caller logs
 * it (never the value) and the namespace has no credential.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

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

const MAX_VALUE = 4096;
const DIGEST_KEY = randomBytes(32);

/** HMAC-SHA256(process key, user NUL password); both sides of a login compare in one constant-time step. */
function credentialDigest(user: string, password: string): Buffer {
  return createHmac('sha256', DIGEST_KEY).update(user).update('\0').update(password).digest();
}

/** True when (user, password) is exactly the Secret's pair; the time taken does not depend on which differs. */
export function matches(cred: SecretCredential, user: string, password: string): boolean {
  return timingSafeEqual(credentialDigest(user, password), cred.digest);
}
const MAX_DOCKERCONFIG = 64 * 1024;
const B64 = /^[A-Za-z0-9+/]*={0,2}$/;
const utf8 = new TextDecoder('utf-8', { fatal: true });
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

class Refused extends Error {}

function decode(b64: unknown, what: string, max: number): string {
  if (typeof b64 !== 'string') throw new Refused(`${what} is not a string`);
  if (b64.length > Math.ceil((max * 4) / 3) + 4) throw new Refused(`${what} is longer than ${max} bytes`);
  if (!B64.test(b64) || b64.length % 4 !== 0) throw new Refused(`${what} is not valid base64`);
  try {
    return utf8.decode(Buffer.from(b64, 'base64'));
  } catch {
    throw new Refused(`${what} is not valid UTF-8`);
  }
}

function checkText(v: string, what: string): string {
  if (!v) throw new Refused(`${what} is empty`);
  if (v.length > MAX_VALUE) throw new Refused(`${what} is longer than ${MAX_VALUE} characters`);
  if (CONTROL.test(v)) throw new Refused(`${what} contains control characters`);
  return v;
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

function fromDockerConfig(b64: unknown, host: string | undefined): { username: string; password: string } {
  const text = decode(b64, 'data[.dockerconfigjson]', MAX_DOCKERCONFIG);
  if (!host) throw new Refused('has only .dockerconfigjson and no --k8s-secret-registry-host is set');
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new Refused('data[.dockerconfigjson] is not JSON');
  }
  const auths = isObject(doc) ? doc.auths : undefined;
  if (!isObject(auths)) throw new Refused('data[.dockerconfigjson] has no "auths" object');
  const entry = Object.hasOwn(auths, host) ? auths[host] : undefined;
  if (!isObject(entry)) throw new Refused(`data[.dockerconfigjson].auths has no entry for "${host}"`);
  const where = `data[.dockerconfigjson].auths["${host}"]`;
  if (typeof entry.username === 'string' && typeof entry.password === 'string') {
    return { username: checkText(entry.username, `${where}.username`), password: checkText(entry.password, `${where}.password`) };
  }
  if (entry.auth === undefined) throw new Refused(`${where} has neither username+password nor auth`);
  const pair = decode(entry.auth, `${where}.auth`, MAX_VALUE * 2);
  const colon = pair.indexOf(':');
  if (colon < 1) throw new Refused(`${where}.auth is not base64("user:password")`);
  return { username: checkText(pair.slice(0, colon), `${where}.auth user`), password: checkText(pair.slice(colon + 1), `${where}.auth password`) };
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
      pair = fromDockerConfig(data['.dockerconfigjson'], registryHost);
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
