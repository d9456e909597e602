/**
 * Type ServiceAccountToken: a TokenRequest for the CR's own namespace's service account, audience
 * `--audience` (the one authn's issuers file expects), written as the password of user
 * `--token-username`. Nothing long-lived is stored: the token is requested again at 80 % of the
 * lifetime the API server granted (it may shorten the request) and before it is older than the
 * issuer's maxTokenAge.
 */
import { decodeJwt } from 'jose';
import type { TokenSpec } from '../decide/spec.js';
import { parseTime, tokenRefreshAt } from '../decide/schedule.js';
import { ApiError, paths, statusMessage } from '../kube/client.js';
import { Failure, type Credential, type CredentialObject, type ReconcileDeps } from './types.js';
import { isObject } from '../../../common/is-object.js';

export async function tokenCredential(d: ReconcileDeps, cr: CredentialObject, spec: TokenSpec, current: { username: string; password: string } | undefined): Promise<Credential | Failure> {
  const ns = cr.metadata.namespace;
  const account = `system:serviceaccount:${ns}:${spec.serviceAccountName}`;
  const now = d.now();
  const next = parseTime(cr.status?.nextRotation);
  const fresh = current !== undefined && current.username === d.tokenUsername && cr.status?.account === account && cr.status.observedGeneration === cr.metadata.generation;
  if (fresh && next !== undefined && next > now) return { account, username: d.tokenUsername, lastRotation: parseTime(cr.status?.lastRotation) ?? now, next };
  const body = { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { audiences: [d.audience], expirationSeconds: spec.expirationSeconds } };
  const r = await d.kube.create(paths.token(ns, spec.serviceAccountName), body);
  if (r.status === 404) return new Failure('MissingServiceAccount', `spec.serviceAccountName: service account "${spec.serviceAccountName}" does not exist in namespace ${ns}`, 30_000);
  if (r.status === 403 || r.status === 400 || r.status === 422) return new Failure('TokenRequestRefused', `TokenRequest refused (${r.status})${statusMessage(r.json)}`, 60_000);
  const st = isObject(r.json) && isObject(r.json.status) ? r.json.status : undefined;
  if ((r.status !== 201 && r.status !== 200) || typeof st?.token !== 'string') throw new ApiError(`TokenRequest for ${ns}/${spec.serviceAccountName} answered ${r.status}${statusMessage(r.json)}`, r.status);
  let iat = now;
  let exp = parseTime(st.expirationTimestamp) ?? now + spec.expirationSeconds * 1000;
  try {
    const c = decodeJwt(st.token);
    if (typeof c.iat === 'number') iat = c.iat * 1000;
    if (typeof c.exp === 'number') exp = Math.min(exp, c.exp * 1000);
  } catch {
    // Not a JWT we can read: schedule from the expirationTimestamp the API server gave.
  }
  const refresh = tokenRefreshAt(iat, exp, d.maxTokenAge);
  const reason = current === undefined ? 'Created' : 'Rotated';
  return { account, username: d.tokenUsername, password: st.token, lastRotation: now, next: refresh, event: { reason, note: `token for service account ${spec.serviceAccountName} requested; refreshed at ${new Date(refresh).toISOString()}` } };
}
