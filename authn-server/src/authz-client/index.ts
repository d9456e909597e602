/**
 * Client of authz-server's `/authorized`. Rules: keep-alive connections; a timeout per call; one
 * retry when the connection itself failed (refused/reset — e.g. a stale keep-alive socket);
 * 200 and 403 are answers (403's `actions` = granted subset); anything else throws
 * AuthzUnavailable so the token request fails closed.
 */
import http from 'node:http';
import https from 'node:https';
import type net from 'node:net';
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

/**
 * TCP keep-alive probes are switched on once per socket. Node's agent (when a socket goes back to
 * the pool) and axios (on every request) both call `setKeepAlive` again, each a setsockopt(2) that
 * showed up in profiles of the token path; repeating the same setting is a no-op here.
 */
function onceKeepAlive<T extends net.Socket>(socket: T): T {
  socket.setKeepAlive(true, KEEPALIVE_PROBE_MS);
  let enabled = true;
  const set = socket.setKeepAlive.bind(socket);
  socket.setKeepAlive = (enable = false, delay = 0) => {
    if (enable && enabled) return socket;
    enabled = enable;
    return set(enable, delay);
  };
  return socket;
}
const KEEPALIVE_PROBE_MS = 60_000;

class AuthzHttpAgent extends http.Agent {
  override createConnection(...args: Parameters<http.Agent['createConnection']>): ReturnType<http.Agent['createConnection']> {
    return onceKeepAlive(super.createConnection(...args) as net.Socket);
  }
}
class AuthzHttpsAgent extends https.Agent {
  override createConnection(...args: Parameters<https.Agent['createConnection']>): ReturnType<https.Agent['createConnection']> {
    return onceKeepAlive(super.createConnection(...args) as net.Socket);
  }
}

export function createAuthzClient(opts: AuthzClientOptions): AuthzClient {
  // One shared keep-alive pool per client; LIFO reuses the warmest sockets so idle ones can expire.
  // Idle sockets are dropped after 4 s, before the server's 5 s keep-alive timeout (Node's default,
  // authz-server keeps it) can close one just as a request goes out on it.
  const agentOpts = { keepAlive: true, maxSockets: 64, maxFreeSockets: 64, scheduling: 'lifo' as const, timeout: 4000 };
  const httpAgent = new AuthzHttpAgent(agentOpts);
  const httpsAgent = new AuthzHttpsAgent(agentOpts);
  // Tuned for one small JSON POST per scope: the body is serialized by us and the reply parsed by
  // us (no transformRequest/transformResponse passes, no decompression streams — authz-server does
  // not compress), every header fixed at creation, statuses checked here rather than by validateStatus.
  const api: AxiosInstance = axios.create({
    baseURL: opts.url.replace(/\/+$/, ''),
    timeout: opts.timeoutMs ?? 3000,
    httpAgent,
    httpsAgent,
    proxy: false,
    maxRedirects: 0,
    validateStatus: null,
    transformRequest: [],
    transformResponse: [],
    responseType: 'text',
    decompress: false,
    headers: {
      'Content-Type': 'application/json',
      Accept: 'application/json',
      'Accept-Encoding': 'identity',
      'User-Agent': 'tollgate-authn',
      ...(opts.token ? { Authorization: `Bearer ${opts.token}` } : {}),
    },
  });

  // The retry after a connection error goes out on a new connection: when a replica shuts down, every
  // pooled keep-alive socket to it dies at once, and a retry on the next pooled one would fail the same way.
  const fresh = { httpAgent: new AuthzHttpAgent({ keepAlive: false }), httpsAgent: new AuthzHttpsAgent({ keepAlive: false }) };

  async function once(body: AuthorizedRequest, retry = false): Promise<AuthorizedResponse> {
    const res = await api.post<string>(AUTHORIZED_PATH, JSON.stringify(body), retry ? fresh : undefined);
    if (res.status !== 200 && res.status !== 403) throw new AuthzUnavailable(`authz-server answered ${res.status} on ${AUTHORIZED_PATH}`);
    let data: unknown;
    try {
      data = JSON.parse(res.data);
    } catch {
      throw new AuthzUnavailable(`authz-server sent a ${res.status} body on ${AUTHORIZED_PATH} that is not JSON`);
    }
    const parsed = ReplySchema.safeParse(data);
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
          out = await once(body, true);
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
      fresh.httpAgent.destroy();
      fresh.httpsAgent.destroy();
    },
  };
}
