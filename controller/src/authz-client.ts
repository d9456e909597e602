/**
 * authz's robot REST API as the controller uses it (docs/namespace-credentials.md §4): read one robot
 * (`GET /robots/{account}`, not the namespace's list), create, rotate with an overlap, delete. The token should be a scoped
 * `robots:manage` token for all namespaces, never the admin token. Two ways a call fails, nothing guessed:
 * - `AuthzUnavailable`: authz unreachable, 5xx, 401/403 (its token may yet be fixed), 408/429, or an
 *   answer of the wrong shape — the reconcile fails with `Ready=False` and retries with backoff;
 * - `AuthzRefused`: any other 4xx (400, 404 where none is expected, 422, …) — authz says the request
 *   itself is wrong, so repeating it cannot help: the CR reports it and waits for a change.
 */
import { robotAccount } from '../../common/robots.js';

export { robotAccount };

export interface RobotView {
  account: string;
  actions: string[];
}

export class AuthzUnavailable extends Error {}

/** authz refused the request as bad input: permanent for this spec. `message` carries authz's own. */
export class AuthzRefused extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

type Reply = { status: number; json: Record<string, unknown> };
/** Client errors that say "not now" rather than "never": a timeout, a rate limit, a token that may be fixed. */
const TRANSIENT_4XX = new Set([401, 403, 408, 429]);

const errorText = (json: Record<string, unknown>): string => {
  const e = json.error as { message?: unknown } | undefined;
  return typeof e?.message === 'string' ? `: ${e.message.slice(0, 200)}` : '';
};

export class AuthzClient {
  private readonly base: string;
  constructor(
    url: string,
    private readonly token: () => string,
    private readonly timeoutMs = 5000,
  ) {
    this.base = url.replace(/\/+$/, '');
  }

  private async call(method: string, path: string, body?: unknown): Promise<Reply> {
    const res = await fetch(`${this.base}${path}`, {
      method,
      headers: { Authorization: `Bearer ${this.token()}`, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(this.timeoutMs),
    }).catch((e: unknown) => {
      throw new AuthzUnavailable(`authz ${method} ${path} unreachable: ${(e as Error).message}`);
    });
    const json = (await res.json().catch(() => ({}))) as Record<string, unknown>;
    if (res.status >= 500 || TRANSIENT_4XX.has(res.status)) {
      throw new AuthzUnavailable(`authz ${method} ${path} answered ${res.status}${errorText(json)}`);
    }
    return { status: res.status, json: json ?? {} };
  }

  /** An answer the method does not handle: a 4xx is authz refusing the request, anything else a fault. */
  private unexpected(method: string, path: string, r: Reply): Error {
    const text = `authz ${method} ${path} answered ${r.status}${errorText(r.json)}`;
    return r.status >= 400 && r.status < 500 ? new AuthzRefused(r.status, text) : new AuthzUnavailable(text);
  }

  /** The robot `account` if it exists: one by-account read, whatever the namespace holds. */
  async find(account: string): Promise<RobotView | undefined> {
    const r = await this.call('GET', `/robots/${encodeURIComponent(account)}`);
    if (r.status === 404) return undefined;
    if (r.status !== 200 || r.json.account !== account || !Array.isArray(r.json.actions)) throw this.unexpected('GET', '/robots/…', r);
    return { account, actions: (r.json.actions as string[]).map(String).sort() };
  }

  /** Creates the robot; `undefined` when one of that name exists already (409). */
  async create(namespace: string, name: string, actions: string[]): Promise<string | undefined> {
    const r = await this.call('POST', '/robots', { namespace, name, actions });
    if (r.status === 409) return undefined;
    if (r.status !== 201 || typeof r.json.secret !== 'string') throw this.unexpected('POST', '/robots', r);
    return r.json.secret;
  }

  /** Rotates: a new secret, the old one valid `overlap` seconds more. `undefined` when the robot is gone. */
  async rotate(account: string, overlap: number): Promise<string | undefined> {
    const r = await this.call('POST', `/robots/${encodeURIComponent(account)}/rotate`, { overlap });
    if (r.status === 404) return undefined;
    if (r.status !== 200 || typeof r.json.secret !== 'string') throw this.unexpected('POST', '/robots/…/rotate', r);
    return r.json.secret;
  }

  /** Deletes; true when it existed. */
  async remove(account: string): Promise<boolean> {
    const r = await this.call('DELETE', `/robots/${encodeURIComponent(account)}`);
    if (r.status === 404) return false;
    if (r.status !== 200) throw this.unexpected('DELETE', '/robots/…', r);
    return true;
  }
}
