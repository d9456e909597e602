/**
 * One issuer's signing keys, fetched lazily and cached (jose's local JWKS set does the key selection).
 *
 * - Source: OIDC discovery (`<issuer>/.well-known/openid-configuration` → `jwks_uri`, whose `issuer` must
 *   equal ours), a JWKS URL, or a JWKS file.
 * - Fresh for `maxAgeMs`; after that the next login starts a refetch in the background and is answered with
 *   the keys it has (a slow or dripping endpoint never holds logins while keys are cached). A failed refetch
 *   keeps the old keys for up to `maxStaleMs` (an issuer blip must not stop logins), then logins fail closed
 *   with `KeysUnavailable` (503). Only a login with no usable keys at all waits for a fetch.
 * - A fetch has a total deadline (`timeoutMs`, fetch-json.ts), not only an idle timeout.
 * - An unknown `kid` refetches at most once per `cooldownMs`, shared by concurrent logins — never one fetch
 *   per request, whatever garbage `kid`s an attacker sends. During the cooldown an unknown `kid` is
 *   `KeysUnavailable` with `retryAfterSec` (503 + Retry-After), never a 401: a garbage-kid token sent just
 *   before the issuer rotates must not make every real workload's login a 401 until the cooldown ends.
 *   Only a `kid` missing from a set fetched after the login arrived is refused (401).
 * - A failed fetch is not retried for `retryMs`: a down issuer is not hammered by every login.
 */
import { readFile } from 'node:fs/promises';
import { createLocalJWKSet, errors as joseErrors, type JSONWebKeySet, type JWTHeaderParameters, type FlattenedJWSInput } from 'jose';
import type { IssuerConfig } from './config.js';
import { fetchJson } from './fetch-json.js';

/** Keys could not be had: the login cannot be decided (→ 503, never 401, never a token). */
export class KeysUnavailable extends Error {
  override name = 'KeysUnavailable';
  constructor(
    message: string,
    /** When a retry can succeed (the token route's Retry-After); undefined → its default. */
    readonly retryAfterSec?: number,
  ) {
    super(message);
  }
}

export interface KeyCacheOptions {
  now?: () => number;
  cooldownMs?: number;
  maxAgeMs?: number;
  maxStaleMs?: number;
  retryMs?: number;
  timeoutMs?: number;
  /** Called after every fetch attempt (metrics). */
  onFetch?: (ok: boolean) => void;
}

const KEY_CACHE_DEFAULTS = { cooldownMs: 30_000, maxAgeMs: 10 * 60_000, maxStaleMs: 60 * 60_000, retryMs: 5_000, timeoutMs: 5_000 } as const;

type KeyResolver = ReturnType<typeof createLocalJWKSet>;
type Key = Awaited<ReturnType<KeyResolver>>;

export interface IssuerKeys {
  /** jose key resolver for `jwtVerify`: throws KeysUnavailable when no key set can be had. */
  resolve(header: JWTHeaderParameters, token: FlattenedJWSInput): Promise<Key>;
  /** Loads the keys now (start-up warm-up); rejects on failure. */
  refresh(): Promise<void>;
  /** Number of fetches made (tests). */
  readonly fetches: number;
}

function asJwks(doc: unknown, where: string): JSONWebKeySet {
  const keys = (doc as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys)) throw new Error(`${where}: not a JWKS (no "keys" array)`);
  return { keys: keys.filter((k): k is JSONWebKeySet['keys'][number] => k !== null && typeof k === 'object') };
}

async function loadJwks(cfg: IssuerConfig, timeoutMs: number): Promise<JSONWebKeySet> {
  const fetchOpts = { caFile: cfg.caFile, bearerTokenFile: cfg.bearerTokenFile, timeoutMs };
  if ('file' in cfg.jwks) return asJwks(JSON.parse(await readFile(cfg.jwks.file, 'utf8')) as unknown, cfg.jwks.file);
  if ('url' in cfg.jwks) return asJwks(await fetchJson(cfg.jwks.url, fetchOpts), cfg.jwks.url);
  const discoveryUrl = `${cfg.issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`;
  const doc = (await fetchJson(discoveryUrl, fetchOpts)) as { issuer?: unknown; jwks_uri?: unknown } | null;
  if (doc?.issuer !== cfg.issuer) throw new Error(`${discoveryUrl}: "issuer" is ${JSON.stringify(doc?.issuer)}, not ${JSON.stringify(cfg.issuer)}`);
  const jwksUri = doc.jwks_uri;
  if (typeof jwksUri !== 'string' || !URL.canParse(jwksUri)) throw new Error(`${discoveryUrl}: "jwks_uri" is not a URL`);
  const protocol = new URL(jwksUri).protocol;
  if (protocol !== 'https:' && !(protocol === 'http:' && cfg.insecure)) throw new Error(`${discoveryUrl}: jwks_uri ${jwksUri} is not https (set insecure: true to allow http)`);
  // The bearer token was configured for the issuer's origin: a jwks_uri elsewhere gets none (set jwks.url to
  // send it there on purpose).
  const tokenHere = new URL(jwksUri).origin === new URL(cfg.issuer).origin;
  return asJwks(await fetchJson(jwksUri, { ...fetchOpts, bearerTokenFile: tokenHere ? cfg.bearerTokenFile : undefined }), jwksUri);
}

export function createIssuerKeys(cfg: IssuerConfig, opts: KeyCacheOptions = {}): IssuerKeys {
  const o = { ...KEY_CACHE_DEFAULTS, ...opts };
  const now = opts.now ?? Date.now;
  let set: KeyResolver | undefined;
  let fetchedAt = -Infinity;
  let attemptAt = -Infinity;
  let failedAt = -Infinity;
  let lastError = '';
  let inflight: Promise<void> | undefined;
  let fetches = 0;
  /** Successful loads so far: a login knows whether keys were fetched after it arrived. */
  let loaded = 0;

  const load = (): Promise<void> => {
    inflight ??= (async () => {
      attemptAt = now();
      fetches++;
      try {
        const jwks = await loadJwks(cfg, o.timeoutMs);
        set = createLocalJWKSet(jwks);
        fetchedAt = now();
        loaded++;
        opts.onFetch?.(true);
      } catch (e) {
        failedAt = now();
        lastError = (e as Error).message;
        opts.onFetch?.(false);
        throw new KeysUnavailable(`keys of issuer ${cfg.name} unavailable: ${lastError}`);
      }
    })().finally(() => {
      inflight = undefined;
    });
    return inflight;
  };

  /** Loads when missing or old; a recent failure answers at once; stale keys serve (refreshed behind) while they may. */
  async function current(): Promise<KeyResolver> {
    const t = now();
    if (set && t - fetchedAt < o.maxAgeMs) return set;
    const retryBlocked = t - failedAt < o.retryMs && !inflight;
    if (set && t - fetchedAt < o.maxStaleMs) {
      if (!retryBlocked) load().catch(() => undefined);
      return set;
    }
    if (retryBlocked) throw new KeysUnavailable(`keys of issuer ${cfg.name} unavailable: ${lastError}`);
    await load();
    return set!;
  }

  return {
    get fetches() {
      return fetches;
    },
    refresh: load,
    async resolve(header, token) {
      const seen = loaded;
      const keys = await current();
      try {
        return await keys(header, token);
      } catch (e) {
        if (!(e instanceof joseErrors.JWKSNoMatchingKey)) throw e;
        // A new kid: the issuer may have rotated. One refetch per cooldown (joined by concurrent logins);
        // the verdict stands only on keys fetched after this login arrived.
        if (inflight) await inflight.catch(() => undefined);
        else if (now() - attemptAt >= o.cooldownMs) await load();
        if (loaded > seen) return set!(header, token);
        const wait = Math.max(1, Math.ceil((attemptAt + o.cooldownMs - now()) / 1000));
        throw new KeysUnavailable(`keys of issuer ${cfg.name}: kid ${JSON.stringify(String(header.kid ?? '')).slice(0, 80)} unknown; keys are refetched at most every ${o.cooldownMs / 1000} s`, wait);
      }
    },
  };
}
