/**
 * Verifies one JWT presented as a password against one issuer. Rules, in order:
 * - shape first, before any key work: at most 16 KiB, a compact JWS (not a JWE), an allowed asymmetric
 *   `alg` (so `none` and HS256-with-the-public-key never reach a key), no `crit`, not a nested JWT;
 * - signature by this issuer's keys only; `iss` exact; `aud` ∩ audiences ≠ ∅; `exp`, `iat`, `nbf` and `sub`
 *   required (jose checks exp/nbf only when present); clock tolerance; `now − iat` ≤ maxTokenAge;
 *   `exp − iat` ≤ maxLifetime (refuses the year-long extended pod token);
 * - Kubernetes issuers: legacy Secret-token claims refused; the `kubernetes.io` claim must name an RFC 1123
 *   namespace and service account, and `sub` must be exactly `system:serviceaccount:<ns>:<sa>`;
 *   `requirePod` demands `kubernetes.io.pod`. The `node` claim is never trusted (the API server does not
 *   check it).
 * A refusal is a `TokenRefused` (400 malformed, 401 otherwise) with a stable reason code; missing keys
 * surface as `KeysUnavailable` from issuer-keys.ts.
 */
import { decodeProtectedHeader, errors as joseErrors, jwtVerify, type JWTPayload } from 'jose';
import { ACCOUNT_NAME_MAX, DNS_LABEL } from '../../../../common/names.js';
import type { Labels } from '../backend.js';
import { MAX_TOKEN_BYTES, presentedUserProblem } from '../limits.js';
import type { IssuerConfig } from './config.js';
import type { IssuerKeys } from './issuer-keys.js';


export class TokenRefused extends Error {
  override name = 'TokenRefused';
  constructor(
    readonly status: 400 | 401,
    /** Stable code for the audit line and the metric label. */
    readonly reason: string,
    message: string,
    readonly jti?: string,
  ) {
    super(message);
  }
}

export interface VerifiedToken {
  account: string;
  labels: Labels;
  /** epoch seconds */
  exp: number;
  jti?: string;
  namespace?: string;
}

const SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

function checkShape(token: string, cfg: IssuerConfig): void {
  const bad = (reason: string, msg: string) => new TokenRefused(400, reason, msg);
  if (token.length > MAX_TOKEN_BYTES) throw bad('too_large', `token is longer than ${MAX_TOKEN_BYTES} bytes`);
  const parts = token.split('.').length;
  if (parts === 5) throw bad('encrypted', 'encrypted JWTs (JWE) are not accepted');
  let header;
  try {
    if (parts !== 3) throw new Error();
    header = decodeProtectedHeader(token);
  } catch {
    throw bad('not_jwt', `password for issuer ${cfg.name} is not a JWT`);
  }
  const alg = String(header.alg);
  if (!(cfg.algorithms as string[]).includes(alg)) throw bad('alg_not_allowed', `alg "${alg.slice(0, 32)}" is not allowed for issuer ${cfg.name} (allowed: ${cfg.algorithms.join(', ')})`);
  if (header.crit !== undefined) throw bad('crit', 'tokens with a "crit" header are not accepted');
  if (typeof header.cty === 'string' && /^(application\/)?jwt$/i.test(header.cty)) throw bad('nested', 'nested JWTs are not accepted');
}

function claimError(e: InstanceType<typeof joseErrors.JWTClaimValidationFailed>, cfg: IssuerConfig): TokenRefused {
  const r = (reason: string, msg: string) => new TokenRefused(401, reason, msg);
  if (e.reason === 'missing') return r('missing_claim', `token has no "${e.claim}" claim`);
  switch (e.claim) {
    case 'iss':
      return r('wrong_issuer', `token issuer is not ${cfg.issuer}`);
    case 'aud':
      return r('wrong_audience', `token audience is not one of ${cfg.audiences.join(', ')}`);
    case 'nbf':
      return r('not_yet_valid', 'token is not valid yet (nbf)');
    case 'iat':
      return r('iat_in_future', 'token is issued in the future (iat)');
    default:
      return r('invalid_claim', `claim "${e.claim}" is not valid`);
  }
}

function mapJoseError(e: unknown, cfg: IssuerConfig): unknown {
  // jose reports maxTokenAge as JWTExpired on the iat claim.
  if (e instanceof joseErrors.JWTExpired) {
    return e.claim === 'iat' ? new TokenRefused(401, 'too_old', `token was issued more than ${cfg.maxTokenAge}s ago (maxTokenAge)`) : new TokenRefused(401, 'expired', 'token has expired');
  }
  if (e instanceof joseErrors.JWTClaimValidationFailed) return claimError(e, cfg);
  if (e instanceof joseErrors.JWSSignatureVerificationFailed) return new TokenRefused(401, 'bad_signature', `signature does not verify with the keys of issuer ${cfg.name}`);
  if (e instanceof joseErrors.JWKSNoMatchingKey) return new TokenRefused(401, 'unknown_key', `no key of issuer ${cfg.name} matches the token's kid`);
  if (e instanceof joseErrors.JWKSMultipleMatchingKeys) return new TokenRefused(401, 'ambiguous_key', `several keys of issuer ${cfg.name} match; the token must carry a kid`);
  if (e instanceof joseErrors.JOSEAlgNotAllowed) return new TokenRefused(400, 'alg_not_allowed', e.message);
  if (e instanceof joseErrors.JWTInvalid || e instanceof joseErrors.JWSInvalid) return new TokenRefused(400, 'malformed', `malformed JWT: ${e.message}`);
  if (e instanceof joseErrors.JOSEError) return new TokenRefused(401, 'invalid', `token refused: ${e.message}`);
  return e;
}

function pointerGet(doc: unknown, pointer: string): unknown {
  let v = doc;
  for (const raw of pointer.slice(1).split('/')) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (v === null || typeof v !== 'object' || !Object.hasOwn(v, key)) return undefined;
    v = (v as Record<string, unknown>)[key];
  }
  return v;
}

function claimLabels(payload: JWTPayload, cfg: IssuerConfig, labels: Labels): void {
  for (const [name, ptr] of Object.entries(cfg.labels)) {
    const v = pointerGet(payload, ptr);
    const values = Array.isArray(v) ? v : [v];
    const strings = values.filter((x) => ['string', 'number', 'boolean'].includes(typeof x)).map(String).filter((s) => s.length <= 512).slice(0, 64);
    if (strings.length) labels[name] = strings;
  }
}

function kubernetesIdentity(payload: JWTPayload, cfg: IssuerConfig, labels: Labels): string {
  const r = (reason: string, msg: string) => new TokenRefused(401, reason, msg);
  if (Object.keys(payload).some((k) => k.startsWith('kubernetes.io/serviceaccount/'))) throw r('legacy_token', 'legacy Secret-based service-account tokens are not accepted; use a projected token');
  const k = payload['kubernetes.io'] as { namespace?: unknown; serviceaccount?: { name?: unknown }; pod?: { name?: unknown } } | undefined;
  if (k === null || typeof k !== 'object') throw r('not_kubernetes', 'token has no "kubernetes.io" claim');
  const ns = k.namespace;
  if (typeof ns !== 'string' || !DNS_LABEL.test(ns)) throw r('bad_namespace', 'kubernetes.io.namespace is not an RFC 1123 label');
  const sa = k.serviceaccount?.name;
  if (typeof sa !== 'string' || sa.length > 253 || !SUBDOMAIN.test(sa)) throw r('bad_serviceaccount', 'kubernetes.io.serviceaccount.name is not an RFC 1123 subdomain');
  if (payload.sub !== `system:serviceaccount:${ns}:${sa}`) throw r('sub_mismatch', 'sub does not match the kubernetes.io claim (system:serviceaccount:<namespace>:<name>)');
  const pod = k.pod?.name;
  if (pod !== undefined && (typeof pod !== 'string' || pod.length > 253 || !SUBDOMAIN.test(pod))) throw r('bad_pod', 'kubernetes.io.pod.name is not an RFC 1123 subdomain');
  if (cfg.requirePod && pod === undefined) throw r('no_pod', `issuer ${cfg.name} requires a pod-bound token (kubernetes.io.pod)`);
  labels.namespace = [ns];
  labels.serviceaccount = [sa];
  if (pod !== undefined) labels.pod = [pod];
  return ns;
}

/** The identity a valid token proves, or a TokenRefused / KeysUnavailable. */
export async function verifyToken(token: string, cfg: IssuerConfig, keys: IssuerKeys, now: Date): Promise<VerifiedToken> {
  checkShape(token, cfg);
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(token, keys.resolve, {
      algorithms: cfg.algorithms,
      issuer: cfg.issuer,
      audience: cfg.audiences,
      clockTolerance: cfg.clockTolerance,
      maxTokenAge: cfg.maxTokenAge,
      requiredClaims: ['exp', 'iat', 'nbf', 'sub'],
      currentDate: now,
    }));
  } catch (e) {
    throw mapJoseError(e, cfg);
  }
  const jti = typeof payload.jti === 'string' ? payload.jti.slice(0, 128) : undefined;
  try {
    const exp = payload.exp!;
    const iat = payload.iat!;
    if (exp - iat > cfg.maxLifetime) throw new TokenRefused(401, 'too_long_lived', `token lifetime exp − iat is over ${cfg.maxLifetime}s (maxLifetime)`);
    const subProblem = typeof payload.sub !== 'string' || !payload.sub ? 'empty' : presentedUserProblem(payload.sub);
    if (subProblem) throw new TokenRefused(401, 'bad_subject', `sub is not an account name (${subProblem}; at most ${ACCOUNT_NAME_MAX} characters, no control characters)`);
    const labels: Labels = { issuer: [cfg.name] };
    const namespace = cfg.kubernetes ? kubernetesIdentity(payload, cfg, labels) : undefined;
    claimLabels(payload, cfg, labels);
    return { account: cfg.accountPrefix + payload.sub, labels, exp, ...(jti ? { jti } : {}), ...(namespace ? { namespace } : {}) };
  } catch (e) {
    if (e instanceof TokenRefused) throw new TokenRefused(e.status, e.reason, e.message, jti);
    throw e;
  }
}
