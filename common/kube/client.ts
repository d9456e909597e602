/**
 * The one Kubernetes API client of tollgate (authn's Secret backend and the controller): GET, list and
 * watch, POST, PUT (with the resourceVersion read), PATCH as `application/merge-patch+json`, DELETE —
 * over one keep-alive agent, so a busy controller or a get-mode authn does not pay a new TCP (and TLS)
 * handshake per call. Every call is bounded in time (the caller's signal bounds a watch); the bearer
 * token is re-read per call because projected service-account tokens rotate; the CA is read once. A
 * transport failure throws `ApiError`; any HTTP status is a result. A request that meets a kept-alive
 * socket the server has just closed is sent once more on a fresh one (nothing reached the server).
 */
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { ApiConnection } from './connection.js';
import { isObject } from '../is-object.js';

export type { ApiConnection };

/** Most bytes one list page or GET body may have; one watch line may have. */
export const MAX_BODY = 64 * 1024 * 1024;
export const MAX_LINE = 4 * 1024 * 1024;

export class ApiError extends Error {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

export type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
export interface ApiReply {
  status: number;
  /** The body as JSON, undefined when it is not JSON. */
  json: unknown;
  headers: http.IncomingHttpHeaders;
}

export interface WatchStream {
  status: number;
  /** Body of a non-200 answer (JSON or undefined). */
  json?: unknown;
  /** Resolves when the stream ends (cleanly or not); rejects when it breaks. */
  done: Promise<void>;
}

export interface KubeClientOptions {
  /** Bound of one non-watch call. Default 15 s. */
  timeoutMs?: number;
  userAgent?: string;
}

/** `: <message>` of a Kubernetes Status body, for error texts. */
export function statusMessage(json: unknown): string {
  return isObject(json) && typeof json.message === 'string' ? `: ${json.message.slice(0, 200)}` : '';
}

function parse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Reads a body up to MAX_BODY bytes. */
function readBody(res: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    res.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        res.destroy();
        reject(new ApiError(`API response larger than ${MAX_BODY} bytes`));
        return;
      }
      chunks.push(c);
    });
    res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    res.on('error', (e) => reject(new ApiError(`API response broken: ${e.message}`)));
    res.on('aborted', () => reject(new ApiError('API response aborted')));
  });
}

export class KubeClient {
  private readonly agent: http.Agent;
  private readonly timeoutMs: number;
  private readonly userAgent: string;

  constructor(
    readonly conn: ApiConnection,
    opts: KubeClientOptions = {},
  ) {
    this.timeoutMs = opts.timeoutMs ?? 15_000;
    this.userAgent = opts.userAgent ?? 'tollgate';
    this.agent = conn.baseUrl.protocol === 'https:' ? new https.Agent({ keepAlive: true, ca: conn.ca }) : new http.Agent({ keepAlive: true });
  }

  /** Closes the kept-alive sockets (an open watch is ended by its signal). */
  close(): void {
    this.agent.destroy();
  }

  private headers(body: string | undefined, contentType: string): Record<string, string> {
    const h: Record<string, string> = { Accept: 'application/json', 'User-Agent': this.userAgent };
    if (body !== undefined) {
      h['Content-Type'] = contentType;
      h['Content-Length'] = String(Buffer.byteLength(body));
    }
    if (this.conn.tokenFile) {
      let token: string;
      try {
        token = readFileSync(this.conn.tokenFile, 'utf8').trim();
      } catch (e) {
        throw new ApiError(`cannot read the API token from ${this.conn.tokenFile}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
      }
      if (token) h.Authorization = `Bearer ${token}`;
    }
    return h;
  }

  /** Sends one request and resolves with the response head; a reset kept-alive socket is retried once. */
  private open(method: Method, path: string, body: string | undefined, contentType: string, signal: AbortSignal, retried = false): Promise<http.IncomingMessage> {
    const url = new URL(path, this.conn.baseUrl);
    const mod = url.protocol === 'https:' ? https : http;
    const headers = this.headers(body, contentType);
    return new Promise((resolve, reject) => {
      let answered = false;
      const req = mod.request(url, { method, headers, ca: this.conn.ca, signal, agent: this.agent }, (res) => {
        answered = true;
        resolve(res);
      });
      req.on('error', (e: NodeJS.ErrnoException) => {
        if (answered) return; // the response's own stream reports what breaks after the head
        if (signal.aborted) return reject(new ApiError(String(signal.reason ?? 'aborted')));
        // Only a request that got no answer at all on a socket the server had just closed is sent again.
        if (!retried && req.reusedSocket && e.code === 'ECONNRESET') return resolve(this.open(method, path, body, contentType, signal, true));
        reject(new ApiError(`API ${method} ${url.pathname} failed: ${e.code ?? e.message}`));
      });
      req.end(body);
    });
  }

  /** One call with a total time bound (default the client's); `stop` (a closing reflector) ends it sooner. */
  async request(method: Method, path: string, payload?: unknown, contentType = 'application/json', timeoutMs = this.timeoutMs, stop?: AbortSignal): Promise<ApiReply> {
    const deadline = AbortSignal.timeout(timeoutMs);
    const signal = stop ? AbortSignal.any([deadline, stop]) : deadline;
    const timedOut = (e: unknown) => {
      throw deadline.aborted ? new ApiError(`API ${method} ${path.split('?')[0]} timed out after ${timeoutMs} ms`) : e;
    };
    const body = payload === undefined ? undefined : JSON.stringify(payload);
    const res = await this.open(method, path, body, contentType, signal).catch(timedOut);
    const text = await readBody(res).catch(timedOut);
    return { status: res.statusCode ?? 0, json: parse(text), headers: res.headers };
  }

  get(path: string, timeoutMs?: number, stop?: AbortSignal): Promise<ApiReply> {
    return this.request('GET', path, undefined, undefined, timeoutMs, stop);
  }
  create(path: string, obj: unknown): Promise<ApiReply> {
    return this.request('POST', path, obj);
  }
  /** PUT: `obj.metadata.resourceVersion` must be the one read (a stale one answers 409). */
  replace(path: string, obj: unknown): Promise<ApiReply> {
    return this.request('PUT', path, obj);
  }
  mergePatch(path: string, patch: unknown): Promise<ApiReply> {
    return this.request('PATCH', path, patch, 'application/merge-patch+json');
  }
  remove(path: string): Promise<ApiReply> {
    return this.request('DELETE', path);
  }

  /**
   * Opens a watch and calls `onLine` for every complete line. Every time bound comes from the caller's
   * `signal` (the reflector aborts a watch that outlives the `timeoutSeconds` it asked for): a byte-idle
   * timer cannot tell a quiet cluster from a proxy that holds the stream open, the watch's own deadline can.
   */
  async watch(path: string, opts: { signal: AbortSignal; onLine: (line: string) => void }): Promise<WatchStream> {
    const res = await this.open('GET', path, undefined, 'application/json', opts.signal);
    const status = res.statusCode ?? 0;
    if (status !== 200) {
      const text = await readBody(res).catch(() => '');
      return { status, json: parse(text), done: Promise.resolve() };
    }
    return { status, done: streamLines(res, opts.signal, opts.onLine) };
  }
}

/** Splits a watch body into lines; settles once, when the stream ends, breaks or the signal aborts. */
function streamLines(res: http.IncomingMessage, signal: AbortSignal, onLine: (line: string) => void): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let buf = '';
    let settled = false;
    const finish = (err?: Error) => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', stop);
      if (err) reject(err);
      else resolve();
    };
    const stop = () => {
      res.destroy();
      finish(new ApiError(String(signal.reason ?? 'aborted')));
    };
    if (signal.aborted) return stop();
    signal.addEventListener('abort', stop, { once: true });
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => {
      buf += chunk;
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl).trim();
        buf = buf.slice(nl + 1);
        if (line) onLine(line);
      }
      if (buf.length > MAX_LINE) res.destroy(new ApiError(`API watch line longer than ${MAX_LINE} bytes`));
    });
    res.on('end', () => {
      const rest = buf.trim();
      if (rest) onLine(rest);
      finish();
    });
    res.on('error', (e) => finish(e instanceof ApiError ? e : new ApiError(`API watch broken: ${e.message}`)));
    res.on('aborted', () => finish(new ApiError('API watch connection dropped')));
    res.on('close', () => {
      if (!res.complete) finish(new ApiError('API watch connection dropped'));
    });
  });
}
