/**
 * authz's robot REST API as the controller uses it (docs/namespace-credentials.md §4): read one robot
 * (`GET /robots/{account}`, not the namespace's list), create, rotate with an overlap, delete. The token should be a scoped
 * `robots:manage` token for all namespaces, never the admin token. authz not answering, or answering
 * anything unexpected, throws: the reconcile fails with `Ready=False` and retries; nothing is guessed.
 */
import { robotAccount } from '../../common/robots.js';

export { robotAccount };

export interface RobotView {
  account: string;
  actions: string[];
}

export class AuthzUnavailable extends Error {}

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

  private async call(method: string, path: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
    const res = await fetch(`${this.base}${path}`, {
      method,
      headers: { Authorization: `Bearer ${this.token()}`, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(this.timeoutMs),
    }).catch((e: unknown) => {
      throw new AuthzUnavailable(`authz ${method} ${path} unreachable: ${(e as Error).message}`);
    });
    const json = (await res.json().catch(() => ({}))) as Record<string, unknown>;
    if (res.status >= 500 || res.status === 401 || res.status === 403) {
      throw new AuthzUnavailable(`authz ${method} ${path} answered ${res.status}${errorText(json)}`);
    }
    return { status: res.status, json: json ?? {} };
  }

  /** The robot `account` if it exists: one by-account read, whatever the namespace holds. */
  async find(account: string): Promise<RobotView | undefined> {
    const r = await this.call('GET', `/robots/${encodeURIComponent(account)}`);
    if (r.status === 404) return undefined;
    if (r.status !== 200 || r.json.account !== account || !Array.isArray(r.json.actions)) throw new AuthzUnavailable(`authz GET /robots/… answered ${r.status}`);
    return { account, actions: (r.json.actions as string[]).map(String).sort() };
  }

  /** Creates the robot; `undefined` when one of that name exists already (409). */
  async create(namespace: string, name: string, actions: string[]): Promise<string | undefined> {
    const r = await this.call('POST', '/robots', { namespace, name, actions });
    if (r.status === 409) return undefined;
    if (r.status !== 201 || typeof r.json.secret !== 'string') throw new AuthzUnavailable(`authz POST /robots answered ${r.status}`);
    return r.json.secret;
  }

  /** Rotates: a new secret, the old one valid `overlap` seconds more. `undefined` when the robot is gone. */
  async rotate(account: string, overlap: number): Promise<string | undefined> {
    const r = await this.call('POST', `/robots/${encodeURIComponent(account)}/rotate`, { overlap });
    if (r.status === 404) return undefined;
    if (r.status !== 200 || typeof r.json.secret !== 'string') throw new AuthzUnavailable(`authz POST /robots/…/rotate answered ${r.status}`);
    return r.json.secret;
  }

  /** Deletes; true when it existed. */
  async remove(account: string): Promise<boolean> {
    const r = await this.call('DELETE', `/robots/${encodeURIComponent(account)}`);
    if (r.status === 404) return false;
    if (r.status !== 200) throw new AuthzUnavailable(`authz DELETE /robots/… answered ${r.status}`);
    return true;
  }
}
