/**
 * `--k8s-secrets-mode get`: for API servers where a cluster-wide watch is not allowed. One GET of the
 * namespace's Secret per login miss, a found credential cached ≤ 30 s and a missing one ≤ 10 s (so a
 * deleted Secret stops working within 30 s and a created one starts within 10 s). Concurrent misses for
 * one namespace share one request. An API server that answers 429 (priority and fairness shedding load) is
 * asked again up to `retries429` times after a short jittered pause (100, 200 ms…), so a busy API server
 * does not turn namespace logins into 503. A 429 with `Retry-After` is obeyed instead, capped at
 * `maxRetryAfterMs`: a short one (≤ `retryAfterWaitMs`) is waited out inside the login, a longer one
 * fails the login at once, and until it has passed every cache miss fails closed without asking. Only a
 * 429 after all that, or any other answer (403, 500, garbage, timeout), throws: could not decide (503 +
 * Retry-After).
 */
import type { Logger } from '../../../../common/logger.js';
import { Lru } from '../../../../common/lru.js';
import { ApiError, type ApiReply, type KubeClient } from '../../../../common/kube/client.js';
import type { K8sMetrics } from './metrics.js';
import { parseSecret, type SecretCredential } from './parse-secret.js';

export interface GetterOptions {
  /** The backend's one keep-alive API client (index.ts), shared with nothing else in get mode; its owner closes it. */
  kube: KubeClient;
  secretName: string;
  registryHost?: string | undefined;
  logger: Logger;
  metrics: K8sMetrics;
  hitTtlMs?: number;
  missTtlMs?: number;
  timeoutMs?: number;
  maxEntries?: number;
  /** Extra attempts after a 429. Default 2. */
  retries429?: number;
  /** Longest `Retry-After` obeyed; a longer one is cut to this. Default 10 s. */
  maxRetryAfterMs?: number;
  /** Longest `Retry-After` waited out inside one login; a longer one fails the login at once. Default 1 s. */
  retryAfterWaitMs?: number;
  now?: () => number;
}

const GETTER_DEFAULTS = { hitTtlMs: 30_000, missTtlMs: 10_000, timeoutMs: 5_000, maxEntries: 10_000, retries429: 2, maxRetryAfterMs: 10_000, retryAfterWaitMs: 1_000 } as const;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const pause = (attempt: number): Promise<void> => sleep(100 * 2 ** attempt * (0.5 + Math.random()));

/** IMF-fixdate (RFC 9110), the only date form Retry-After takes from a current server. */
const HTTP_DATE = /^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$/;

/** A `Retry-After` value (delay-seconds or an HTTP date) in ms from `now`; undefined when absent or unreadable. */
export function retryAfterMs(header: string | string[] | undefined, now: number): number | undefined {
  const v = (Array.isArray(header) ? header[0] : header)?.trim();
  if (!v) return undefined;
  if (/^\d{1,9}$/.test(v)) return Number(v) * 1000;
  if (!HTTP_DATE.test(v)) return undefined;
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

export class SecretGetter {
  /** Namespace → its credential, or null: none (a shorter life). */
  private readonly cache: Lru<string, SecretCredential | null>;
  private readonly inflight = new Map<string, Promise<SecretCredential | null>>();
  private readonly o: Required<Omit<GetterOptions, 'registryHost'>> & { registryHost?: string | undefined };
  /** The API server asked (429 Retry-After) not to be asked before this time: misses fail closed until then. */
  private quietUntil = -Infinity;

  constructor(opts: GetterOptions) {
    this.o = { ...GETTER_DEFAULTS, now: Date.now, ...opts };
    this.cache = new Lru({ maxEntries: this.o.maxEntries, now: opts.now });
  }

  async get(namespace: string): Promise<SecretCredential | null> {
    const hit = this.cache.get(namespace);
    if (hit !== undefined) return hit;
    let p = this.inflight.get(namespace);
    if (!p) {
      p = this.fetch(namespace).finally(() => this.inflight.delete(namespace));
      this.inflight.set(namespace, p);
    }
    return p;
  }

  private async fetch(namespace: string): Promise<SecretCredential | null> {
    const path = `/api/v1/namespaces/${encodeURIComponent(namespace)}/secrets/${encodeURIComponent(this.o.secretName)}`;
    const r = await this.getObeying429(path);
    let cred: SecretCredential | null = null;
    if (r.status === 200) {
      const parsed = parseSecret(r.json, this.o.registryHost);
      if (parsed.ok && parsed.credential.namespace === namespace) cred = parsed.credential;
      else {
        this.o.metrics.errors.inc({ kind: 'invalid_secret' });
        this.o.logger.warn({ namespace, secret: this.o.secretName, reason: parsed.ok ? 'namespace does not match' : parsed.reason }, 'k8s secrets: Secret ignored');
      }
    } else if (r.status !== 404) {
      this.o.metrics.errors.inc({ kind: 'get' });
      const msg = r.json && typeof r.json === 'object' && typeof (r.json as { message?: unknown }).message === 'string' ? `: ${(r.json as { message: string }).message.slice(0, 200)}` : '';
      throw new ApiError(`GET ${path} answered ${r.status}${msg}`, r.status);
    }
    this.remember(namespace, cred);
    return cred;
  }

  /** The GET, asked again after a 429 as the API server allows (see the opening comment). */
  private async getObeying429(path: string): Promise<ApiReply> {
    const wait = this.quietUntil - this.o.now();
    if (wait > 0) {
      this.o.metrics.errors.inc({ kind: 'get_throttled' });
      throw new ApiError(`the API server asked (429 Retry-After) not to be asked for ${Math.ceil(wait / 1000)} s more`, 429);
    }
    for (let attempt = 0; ; attempt++) {
      let r: ApiReply;
      try {
        r = await this.o.kube.get(path, this.o.timeoutMs);
      } catch (e) {
        this.o.metrics.errors.inc({ kind: 'get' });
        throw e;
      }
      if (r.status !== 429 || attempt >= this.o.retries429) return r;
      this.o.metrics.errors.inc({ kind: 'get_throttled' });
      const after = retryAfterMs(r.headers['retry-after'], this.o.now());
      if (after === undefined) {
        await pause(attempt);
        continue;
      }
      const obeyed = Math.min(after, this.o.maxRetryAfterMs);
      this.quietUntil = Math.max(this.quietUntil, this.o.now() + obeyed);
      if (obeyed > this.o.retryAfterWaitMs) return r;
      await sleep(obeyed);
    }
  }

  private remember(namespace: string, cred: SecretCredential | null): void {
    this.cache.set(namespace, cred, cred ? this.o.hitTtlMs : this.o.missTtlMs);
  }
}
