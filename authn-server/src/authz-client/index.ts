/**
 * Client of authz-server's `/authorized`. Rules: keep-alive connections; a timeout per call; one
 * retry when the connection itself failed (refused/reset — e.g. a stale keep-alive socket);
 * 200 and 403 are answers (403's `actions` = granted subset); anything else throws
 * AuthzUnavailable so the token request fails closed.
 *
 * Why node's own `http.request` and not axios: this call runs once per scope of every token request
 * and was the dominant cost of the token path. axios's request pipeline (config merging,
 * interceptors, adapters, header objects) took about twice the caller's CPU per call of `http.request`
 * on the same kind of agent (`npm run bench:authz-client`; issue 13 measured 3.9k vs 12.5k req/s in
 * one process), and loading axios added ≈ 25 MB to authn's RSS. One small JSON POST needs none of
 * what axios adds. Numbers: docs/authn.md "Hot paths".
 */
import http from 'node:http';
import https from 'node:https';
import type net from 'node:net';
import { AUTHORIZED_PATH, type AuthorizedRequest, type AuthorizedResponse } from '../../../common/authorized.js';

export class AuthzUnavailable extends Error {
  constructor(
    message: string,
    /** authz-server's HTTP status when it answered (401: our client token was refused). */
    readonly status?: number,
  ) {
    super(message);
    this.name = 'AuthzUnavailable';
  }
}

/** authz-server's own reason from an error body (`{"error":{"message":…}}`), at most 200 characters. */
function errorReason(text: string): string {
  try {
    const m = (JSON.parse(text) as { error?: { message?: unknown } }).error?.message;
    return typeof m === 'string' ? m.slice(0, 200) : '';
  } catch {
    return '';
  }
}

export interface AuthzClient {
  authorize(req: AuthorizedRequest): Promise<AuthorizedResponse>;
  /** A cached answer, synchronously, or undefined (then `authorize`); only a caching client has it (cache.ts). */
  peek?(req: AuthorizedRequest): AuthorizedResponse | undefined;
  /**
   * POSTs a JSON body to another client-token route (the robot verify/lookup contract, common/robots.ts)
   * on the same keep-alive pool, with the same timeout and retry; resolves with the parsed 200 body,
   * throws AuthzUnavailable otherwise.
   */
  call(path: string, body: object): Promise<unknown>;
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

/** A reply larger than this is not an answer authz-server gives: fail closed rather than buffer it. */
const MAX_REPLY_BYTES = 64 * 1024;
const RETRYABLE = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE']);

/** A failure of the connection (not of authz's answer): worth one retry on a fresh socket. */
class ConnectionFailed extends Error {}

/**
 * TCP keep-alive probes are switched on once per socket. Node's agent calls `setKeepAlive` again
 * each time a socket goes back to the pool, a setsockopt(2) that showed up in profiles of the token
 * path; repeating the same setting is a no-op here.
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

/** Parses and checks a reply body; throws AuthzUnavailable naming what is wrong. */
function readReply(status: number, text: string): AuthorizedResponse {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    throw new AuthzUnavailable(`authz-server sent a ${status} body on ${AUTHORIZED_PATH} that is not JSON`);
  }
  const d = data as { allowed?: unknown; actions?: unknown } | null;
  const ok = d !== null && typeof d === 'object' && typeof d.allowed === 'boolean' && Array.isArray(d.actions) && d.actions.every((a) => typeof a === 'string');
  if (!ok) throw new AuthzUnavailable(`authz-server sent an unexpected ${status} body on ${AUTHORIZED_PATH}`);
  return { allowed: status === 200 && (d.allowed as boolean), actions: d.actions as string[] };
}

export function createAuthzClient(opts: AuthzClientOptions): AuthzClient {
  const base = new URL(opts.url);
  const secure = base.protocol === 'https:';
  // One shared keep-alive pool per client; LIFO reuses the warmest sockets so idle ones can expire.
  // Idle sockets are dropped after 4 s, before the server's 5 s keep-alive timeout (Node's default,
  // authz-server keeps it) can close one just as a request goes out on it.
  const agentOpts = { keepAlive: true, maxSockets: 64, maxFreeSockets: 64, scheduling: 'lifo' as const, timeout: 4000, noDelay: true };
  const agent = secure ? new AuthzHttpsAgent(agentOpts) : new AuthzHttpAgent(agentOpts);
  const send = secure ? https.request : http.request;
  const prefix = base.pathname.replace(/\/+$/, '');
  const timeoutMs = opts.timeoutMs ?? 3000;
  const fixedHeaders = {
    'Content-Type': 'application/json',
    Accept: 'application/json',
    'Accept-Encoding': 'identity',
    'User-Agent': 'tollgate-authn',
    ...(opts.token ? { Authorization: `Bearer ${opts.token}` } : {}),
  };
  const target = { protocol: base.protocol, hostname: base.hostname.replace(/^\[|\]$/g, ''), port: base.port || (secure ? 443 : 80) };
  // The retry after a connection error goes out on a new connection: when a replica shuts down, every
  // pooled keep-alive socket to it dies at once, and a retry on the next pooled one would fail the same way.
  const fresh = secure ? new AuthzHttpsAgent({ keepAlive: false }) : new AuthzHttpAgent({ keepAlive: false });

  /** One exchange: resolves with status and body text; rejects with ConnectionFailed or AuthzUnavailable. */
  function exchange(method: 'GET' | 'POST', path: string, body: string | undefined, timeout: number, via: http.Agent = agent): Promise<{ status: number; text: string }> {
    return new Promise((resolve, reject) => {
      const fail = (e: Error): void => {
        clearTimeout(timer);
        reject(e);
      };
      const headers = body === undefined ? fixedHeaders : { ...fixedHeaders, 'Content-Length': Buffer.byteLength(body) };
      const req = send({ ...target, agent: via, method, path: prefix + path, headers }, (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size <= MAX_REPLY_BYTES) return void chunks.push(c);
          fail(new AuthzUnavailable(`authz-server sent more than ${MAX_REPLY_BYTES} bytes on ${path}`));
          req.destroy();
        });
        res.on('end', () => {
          clearTimeout(timer);
          resolve({ status: res.statusCode ?? 0, text: chunks.length === 1 ? chunks[0]!.toString() : Buffer.concat(chunks).toString() });
        });
        // The connection dropped mid-reply.
        res.on('error', (e) => fail(new ConnectionFailed(e.message)));
      });
      const timer = setTimeout(() => {
        fail(new AuthzUnavailable(`authz-server did not answer ${path} within ${timeout} ms`));
        req.destroy();
      }, timeout);
      // After fail() the promise is settled: later errors of the destroyed request change nothing.
      req.on('error', (e: Error & { code?: string }) => {
        if (RETRYABLE.has(e.code ?? '') || /socket hang up/i.test(e.message)) return fail(new ConnectionFailed(e.message));
        fail(new AuthzUnavailable(`authz-server unreachable: ${e.message}`));
      });
      req.end(body);
    });
  }

  /** POST with one retry on a fresh socket when the connection failed; any other failure is AuthzUnavailable. */
  async function post(path: string, text: string): Promise<{ status: number; text: string }> {
    try {
      try {
        return await exchange('POST', path, text, timeoutMs, agent);
      } catch (e) {
        if (!(e instanceof ConnectionFailed)) throw e;
        return await exchange('POST', path, text, timeoutMs, fresh);
      }
    } catch (e) {
      if (e instanceof AuthzUnavailable) throw e;
      throw new AuthzUnavailable(`authz-server unreachable: ${(e as Error).message}`);
    }
  }

  return {
    async authorize(body) {
      const start = performance.now();
      try {
        const reply = await post(AUTHORIZED_PATH, JSON.stringify(body));
        if (reply.status === 401) {
          const why = errorReason(reply.text);
          throw new AuthzUnavailable(`authz-server refused our client token (401 on ${AUTHORIZED_PATH}${why ? `: ${why}` : ''}); check --authz-token-file against authz's --client-token-file`, 401);
        }
        if (reply.status !== 200 && reply.status !== 403) throw new AuthzUnavailable(`authz-server answered ${reply.status} on ${AUTHORIZED_PATH}`, reply.status);
        const out = readReply(reply.status, reply.text);
        opts.observe?.((performance.now() - start) / 1000, 'ok');
        return out;
      } catch (e) {
        opts.observe?.((performance.now() - start) / 1000, 'error');
        throw e;
      }
    },
    async call(path, body) {
      const reply = await post(path, JSON.stringify(body));
      if (reply.status !== 200) throw new AuthzUnavailable(`authz-server answered ${reply.status} on ${path}`, reply.status);
      try {
        return JSON.parse(reply.text) as unknown;
      } catch {
        throw new AuthzUnavailable(`authz-server sent a body on ${path} that is not JSON`);
      }
    },
    async ping() {
      try {
        return (await exchange('GET', '/healthz', undefined, 1000)).status === 200;
      } catch {
        return false;
      }
    },
    close() {
      agent.destroy();
      fresh.destroy();
    },
  };
}
