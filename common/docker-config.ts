/**
 * Reading a registry credential out of a Kubernetes Secret's values: the inverse of `dockerConfigJson`
 * (robot-contract.ts). authn reads tenants' Secrets with it (credentials/k8s-secrets/parse-secret.ts),
 * the controller the Secrets it wrote (decide/secret.ts), so both read a `.dockerconfigjson` the same way.
 *
 * Rules: `auths[<registry host>]` has `username`/`password`, or `auth` = base64(`user:password`).
 * Values are strict base64, UTF-8, without control characters, at most MAX_VALUE characters each (a
 * 1 MiB "password" is a mistake, not a credential); the whole `.dockerconfigjson` at most
 * MAX_DOCKERCONFIG bytes. Anything else is refused with a reason naming the key, never the value.
 */
import { isObject } from './is-object.js';

export const MAX_VALUE = 4096;
const MAX_DOCKERCONFIG = 64 * 1024;

/** A Secret value that is not a credential; `message` names the key and is safe to log. */
export class SecretValueRefused extends Error {}

const B64 = /^[A-Za-z0-9+/]*={0,2}$/;
const utf8 = new TextDecoder('utf-8', { fatal: true });
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

/** A Secret `data` value (`what` names it in the refusal): strict base64 of UTF-8, at most `max` bytes. */
export function decodeSecretValue(b64: unknown, what: string, max: number): string {
  if (typeof b64 !== 'string') throw new SecretValueRefused(`${what} is not a string`);
  if (b64.length > Math.ceil((max * 4) / 3) + 4) throw new SecretValueRefused(`${what} is longer than ${max} bytes`);
  if (!B64.test(b64) || b64.length % 4 !== 0) throw new SecretValueRefused(`${what} is not valid base64`);
  try {
    return utf8.decode(Buffer.from(b64, 'base64'));
  } catch {
    throw new SecretValueRefused(`${what} is not valid UTF-8`);
  }
}

/** A user name or password: not empty, at most MAX_VALUE characters, no control characters. */
export function checkCredentialText(v: string, what: string): string {
  if (!v) throw new SecretValueRefused(`${what} is empty`);
  if (v.length > MAX_VALUE) throw new SecretValueRefused(`${what} is longer than ${MAX_VALUE} characters`);
  if (CONTROL.test(v)) throw new SecretValueRefused(`${what} contains control characters`);
  return v;
}

/**
 * The `{username, password}` a `.dockerconfigjson` value (base64, as in `data`) holds for `host`.
 * `host` undefined: refused with `noHost` (the caller knows which setting names the host).
 * @throws SecretValueRefused
 */
export function fromDockerConfig(b64: unknown, host: string | undefined, noHost = 'has only .dockerconfigjson and no registry host to read'): { username: string; password: string } {
  const text = decodeSecretValue(b64, 'data[.dockerconfigjson]', MAX_DOCKERCONFIG);
  if (!host) throw new SecretValueRefused(noHost);
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new SecretValueRefused('data[.dockerconfigjson] is not JSON');
  }
  const auths = isObject(doc) ? doc.auths : undefined;
  if (!isObject(auths)) throw new SecretValueRefused('data[.dockerconfigjson] has no "auths" object');
  const entry = Object.hasOwn(auths, host) ? auths[host] : undefined;
  if (!isObject(entry)) throw new SecretValueRefused(`data[.dockerconfigjson].auths has no entry for "${host}"`);
  const where = `data[.dockerconfigjson].auths["${host}"]`;
  if (typeof entry.username === 'string' && typeof entry.password === 'string') {
    return { username: checkCredentialText(entry.username, `${where}.username`), password: checkCredentialText(entry.password, `${where}.password`) };
  }
  if (entry.auth === undefined) throw new SecretValueRefused(`${where} has neither username+password nor auth`);
  const pair = decodeSecretValue(entry.auth, `${where}.auth`, MAX_VALUE * 2);
  const colon = pair.indexOf(':');
  if (colon < 1) throw new SecretValueRefused(`${where}.auth is not base64("user:password")`);
  return { username: checkCredentialText(pair.slice(0, colon), `${where}.auth user`), password: checkCredentialText(pair.slice(colon + 1), `${where}.auth password`) };
}
