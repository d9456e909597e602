/**
 * The console's API client: same-origin fetch to `/ui/api/…` with the session cookie and the CSRF
 * header. Request and response types come from the server's own schemas and records (type-only
 * imports: nothing of zod or the server lands in the bundle). The token is sent once, at sign-in, and
 * kept nowhere; the CSRF token lives in memory only.
 */
import type { z } from 'zod';
import type { BindingSchema } from '../src/bindings/schema.js';
import type { SessionInfo, SignIn } from '../src/console/session-routes.js';
import type { ExplainResult } from '../src/policy/decide.js';
import type { Permission } from '../src/policy/permission.js';
import type { CreateRobotSchema, RotateRobotSchema } from '../src/robots/schema.js';
import type { CreatedRobotView, RobotSecretView as RobotSecret, RobotView as Robot, RotatedRobotView } from '../src/robots/routes.js';
import type { CreateTokenSchema } from '../src/tokens/schema.js';
import type { ApiTokenView as ApiToken, NewApiTokenView as NewApiToken } from '../src/tokens/routes.js';
import type { AuthorizedRequest } from '../../common/authorized.js';
import type { BindingRecord, RoleRecord } from '../src/store/store.js';

export type { ApiToken, BindingRecord, ExplainResult, NewApiToken, Permission, Robot, RobotSecret, RoleRecord, SessionInfo };
export type BindingInput = z.input<typeof BindingSchema>;
export type CreateRobot = z.input<typeof CreateRobotSchema>;
export type RotateRobot = z.input<typeof RotateRobotSchema>;
export type Explained = ExplainResult & { request: AuthorizedRequest };
export type CreateToken = z.input<typeof CreateTokenSchema>;

/** An API refusal: its message, and the field it names (shown beside that control). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

let csrf = '';
let onExpired: () => void = () => undefined;
export const setExpiredHandler = (fn: () => void): void => void (onExpired = fn);

async function call<T>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<T> {
  const h: Record<string, string> = { ...headers, Accept: 'application/json' };
  if (body !== undefined) h['Content-Type'] = 'application/json';
  if (method !== 'GET') h['X-CSRF-Token'] = csrf;
  let res: Response;
  try {
    res = await fetch(`/ui/api${path}`, { method, headers: h, credentials: 'same-origin', ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
  } catch {
    throw new ApiError(0, 'the server cannot be reached; check the connection and try again');
  }
  const data = (await res.json().catch(() => null)) as { error?: { message?: string; field?: string } } | null;
  if (res.status === 401 && path !== '/session') onExpired();
  if (!res.ok) throw new ApiError(res.status, data?.error?.message ?? `request failed (HTTP ${res.status})`, data?.error?.field);
  return data as T;
}

const enc = encodeURIComponent;

export const api = {
  async signIn(token: string): Promise<SessionInfo> {
    const body: SignIn = { token };
    const s = await call<SessionInfo>('POST', '/session', body);
    csrf = s.csrf;
    return s;
  },
  async session(): Promise<SessionInfo> {
    const s = await call<SessionInfo>('GET', '/session');
    csrf = s.csrf;
    return s;
  },
  async signOut(): Promise<void> {
    await call('DELETE', '/session');
    csrf = '';
  },
  roles: () => call<{ roles: RoleRecord[] }>('GET', '/roles'),
  createRole: (name: string, permissions: unknown) => call('POST', '/add-role', { name, permissions }, { 'If-None-Match': '*' }),
  deleteRole: (name: string, force: boolean) => call<{ deleted_bindings: number }>('DELETE', `/roles/${enc(name)}${force ? '?force=true' : ''}`),
  bindings: (q: string, after: number | null, limit: number) =>
    call<{ bindings: BindingRecord[]; next: number | null }>('GET', `/bindings?limit=${limit}${q ? `&q=${enc(q)}` : ''}${after ? `&after=${after}` : ''}`),
  addBinding: (b: BindingInput) => call<{ created: boolean; message: string }>('POST', '/add-role-binding', b),
  deleteBinding: (b: BindingInput) => call('POST', '/delete-role-binding', b),
  robots: () => call<{ robots: Robot[] }>('GET', '/robots'),
  createRobot: (r: CreateRobot) => call<CreatedRobotView>('POST', '/robots', r),
  rotateRobot: (account: string, r: RotateRobot) => call<RotatedRobotView>('POST', `/robots/${enc(account)}/rotate`, r),
  deleteRobot: (account: string) => call('DELETE', `/robots/${enc(account)}`),
  explain: (r: AuthorizedRequest) => call<Explained>('POST', '/explain', r),
  tokens: () => call<{ tokens: ApiToken[] }>('GET', '/tokens'),
  createToken: (t: CreateToken) => call<NewApiToken>('POST', '/tokens', t),
  revokeToken: (name: string) => call('DELETE', `/tokens/${enc(name)}`),
};
