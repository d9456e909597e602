/**
 * Client of authz-server's `/authorized`. Rules: keep-alive connections; a timeout per call; one
 * retry when the connection itself failed (refused/reset — e.g. a stale keep-alive socket);
 * 200 and 403 are answers (403's `actions` = granted subset); anything else throws
 * AuthzUnavailable so the token request fails closed.
 */
import http from 'node:http';
import https from 'node:https';
import axios, { type AxiosInstance } from 'axios';
import { z } from 'zod';
import { AUTHORIZED_PATH, type AuthorizedRequest, type AuthorizedResponse } from '../../../common/authorized.js';

export class AuthzUnavailable extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AuthzUnavailable';
  }
}

export interface AuthzClient {
  authorize(req: AuthorizedRequest): Promise<AuthorizedResponse>;
  /** True when authz-server answers its /healthz. */
  ping(): Promise<boolean>;
  close(): void;
}

export interface AuthzClientOptions {
  url: string;
  token?: string | undefined;
  timeoutMs?: number;
  /** Called with each call's duration (s) and outcome, for metrics. */
  observe?: (seconds: number, outcome: 'ok' | 'error') => void;
}

const ReplySchema = z.object({ allowed: z.boolean(), actions: z.array(z.string()) });
const RETRYABLE = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ECONNABORTED_SOCKET']);

function isConnectionError(e: unknown): boolean {
  if (!axios.isAxiosError(e) || e.response) return false;
  return RETRYABLE.has(e.code ?? '') || /socket hang up/i.test(e.message);
}

export function createAuthzClient(opts: AuthzClientOptions): AuthzClient {
  const httpAgent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  const httpsAgent = new https.Agent({ keepAlive: true, maxSockets: 64 });
  const api: AxiosInstance = axios.create({
    baseURL: opts.url.replace(/\/+$/, ''),
    timeout: opts.timeoutMs ?? 3000,
    httpAgent,
    httpsAgent,
    proxy: false,
    maxRedirects: 0,
    validateStatus: () => true,
    headers: opts.token ? { Authorization: `Bearer ${opts.token}` } : {},
  });

  async function once(body: AuthorizedRequest): Promise<AuthorizedResponse> {
    const res = await api.post(AUTHORIZED_PATH, body);
    if (res.status !== 200 && res.status !== 403) throw new AuthzUnavailable(`authz-server answered ${res.status} on ${AUTHORIZED_PATH}`);
    const parsed = ReplySchema.safeParse(res.data);
    if (!parsed.success) throw new AuthzUnavailable(`authz-server sent an unexpected ${res.status} body on ${AUTHORIZED_PATH}`);
    return { allowed: res.status === 200 && parsed.data.allowed, actions: parsed.data.actions };
  }

  return {
    async authorize(body) {
      const start = performance.now();
      try {
        let out: AuthorizedResponse;
        try {
          out = await once(body);
        } catch (e) {
          if (!isConnectionError(e)) throw e;
          out = await once(body);
        }
        opts.observe?.((performance.now() - start) / 1000, 'ok');
        return out;
      } catch (e) {
        opts.observe?.((performance.now() - start) / 1000, 'error');
        if (e instanceof AuthzUnavailable) throw e;
        throw new AuthzUnavailable(`authz-server unreachable: ${(e as Error).message}`);
      }
    },
    async ping() {
      try {
        const res = await api.get('/healthz', { timeout: 1000 });
        return res.status === 200;
      } catch {
        return false;
      }
    },
    close() {
      httpAgent.destroy();
      httpsAgent.destroy();
    },
  };
}
